import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AuthenticationError, NotFoundError, Sandbox } from 'e2b'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { processAlive, waitFor } from '../helpers'
import { portFetch, startFixture, WHO_SERVER, type StandInFixture } from '../helpers/standin'

/** Sandboxes' lives through the real SDK: keys, connect, info, list, kill, pause and resume, timeouts. */

let fx: StandInFixture

beforeAll(async () => {
  fx = await startFixture()
})

afterAll(async () => {
  await fx?.close()
})

describe('API keys', () => {
  it('refuses a wrong key with the SDK’s authentication error', async () => {
    await expect(Sandbox.create('base', { ...fx.conn, apiKey: 'e2b_wrong' })).rejects.toBeInstanceOf(AuthenticationError)
  })

  it('answers E2B’s error shape', async () => {
    const res = await fetch(`${fx.standIn.apiUrl}/sandboxes/anything`)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 401, message: expect.any(String) })
  })
})

describe('connect, info, list', () => {
  it('reports an unknown sandbox as not found', async () => {
    await expect(Sandbox.connect('inosuchsandbox', fx.conn)).rejects.toBeInstanceOf(NotFoundError)
    await expect(Sandbox.getInfo('inosuchsandbox', fx.conn)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('connects to a running sandbox and describes it', async () => {
    const sbx = await Sandbox.create('base', { ...fx.conn, metadata: { session: 's-1' }, timeoutMs: 120_000 })
    const again = await Sandbox.connect(sbx.sandboxId, fx.conn)
    expect((await again.commands.run('echo connected')).stdout).toBe('connected\n')
    const info = await Sandbox.getInfo(sbx.sandboxId, fx.conn)
    expect(info).toMatchObject({ sandboxId: sbx.sandboxId, templateId: 'base', state: 'running', metadata: { session: 's-1' } })
    const listed = await Sandbox.list({ ...fx.conn, query: { metadata: { session: 's-1' } } }).nextItems()
    expect(listed.map((s) => s.sandboxId)).toEqual([sbx.sandboxId])
    await sbx.kill()
  })

  it('moves the end of a sandbox with setTimeout', async () => {
    const sbx = await Sandbox.create('base', { ...fx.conn, timeoutMs: 60_000 })
    const before = (await sbx.getInfo()).endAt.getTime()
    await sbx.setTimeout(600_000)
    expect((await sbx.getInfo()).endAt.getTime()).toBeGreaterThan(before)
    await Sandbox.setTimeout(sbx.sandboxId, 30_000, fx.conn)
    expect((await sbx.getInfo()).endAt.getTime()).toBeLessThan(before)
    await Sandbox.kill(sbx.sandboxId, fx.conn)
  })
})

describe('kill', () => {
  it('ends every process and the folder; the sandbox is then not found', async () => {
    const sbx = await Sandbox.create('base', { ...fx.conn, timeoutMs: 120_000 })
    // A daemon that leaves its process group must end too.
    await sbx.commands.run('setsid sleep 300 > /dev/null 2>&1 < /dev/null &')
    const listed = fx.standIn.list().find((s) => s.sandboxId === sbx.sandboxId)!
    expect(listed.pids.length).toBeGreaterThan(0)
    expect(await sbx.kill()).toBe(true)
    expect(listed.pids.filter(processAlive)).toEqual([])
    expect(existsSync(listed.home)).toBe(false)
    await expect(Sandbox.getInfo(sbx.sandboxId, fx.conn)).rejects.toBeInstanceOf(NotFoundError)
    await expect(Sandbox.connect(sbx.sandboxId, fx.conn)).rejects.toBeInstanceOf(NotFoundError)
    expect(await Sandbox.kill(sbx.sandboxId, fx.conn)).toBe(false)
    await expect(sbx.commands.run('true')).rejects.toThrow()
  })
})

describe('pause and resume', () => {
  it('stops processes where they stand and resumes them with their memory', async () => {
    const sbx = await Sandbox.create('base', { ...fx.conn, timeoutMs: 120_000, network: { allowPublicTraffic: false } })
    // The count lives in the process's memory; the file only shows it, replaced whole so that a
    // pause between truncating and writing cannot leave it empty.
    const counter = await sbx.commands.run('i=0; while true; do i=$((i+1)); echo $i > count.new; mv count.new count; sleep 0.05; done', { background: true, timeoutMs: 0 })
    await sbx.commands.run(WHO_SERVER, { background: true, timeoutMs: 0, envs: { WHO: 'paused-one' } })
    await waitFor('the server inside', async () => (await portFetch(fx, sbx, 4096, '/')).ok)
    const countFile = join(fx.standIn.list().find((s) => s.sandboxId === sbx.sandboxId)!.home, 'count')
    const readCount = async () => Number(await readFile(countFile, 'utf8')) || undefined
    await waitFor('some counting', async () => ((await readCount()) ?? 0) > 3)

    expect(await sbx.pause()).toBe(true)
    expect(await Sandbox.pause(sbx.sandboxId, fx.conn)).toBe(false)
    expect((await Sandbox.getInfo(sbx.sandboxId, fx.conn)).state).toBe('paused')
    expect(fx.standIn.list().find((s) => s.sandboxId === sbx.sandboxId)?.state).toBe('paused')
    const atPause = await waitFor('the count at pause', readCount)
    const paused = await portFetch(fx, sbx, 4096, '/')
    expect(paused.status).toBe(409)
    expect(await readCount()).toBe(atPause)

    const resumed = await Sandbox.connect(sbx.sandboxId, { ...fx.conn, timeoutMs: 120_000 })
    expect((await Sandbox.getInfo(sbx.sandboxId, fx.conn)).state).toBe('running')
    const after = await waitFor('counting again', async () => {
      const n = await readCount()
      return n !== undefined && n > atPause ? n : undefined
    })
    // Counting went on from where it stood (a restart would have begun again at 1).
    expect(after).toBeGreaterThan(atPause)
    expect((await resumed.commands.list()).map((p) => p.pid)).toContain(counter.pid)
    expect(await (await portFetch(fx, resumed, 4096, '/')).text()).toBe('paused-one')
    await resumed.kill()
  })
})

describe('faults a test orders', () => {
  it('refuses the next pauses of the sandboxes named, the sandbox running on, and records every pause call', async () => {
    const sbx = await Sandbox.create('base', { ...fx.conn, timeoutMs: 120_000, metadata: { sessionId: 'ses_refused' } })
    const other = await Sandbox.create('base', { ...fx.conn, timeoutMs: 120_000, metadata: { sessionId: 'ses_other' } })
    const before = fx.standIn.calls('pause').length
    fx.standIn.refuseNextPauses(2, { sessionId: 'ses_refused' })
    // Another session's pause neither meets the fault nor spends it.
    expect(await Sandbox.pause(other.sandboxId, fx.conn)).toBe(true)
    for (let i = 0; i < 2; i++) await expect(Sandbox.pause(sbx.sandboxId, fx.conn)).rejects.toThrow(/500/)
    expect((await Sandbox.getInfo(sbx.sandboxId, fx.conn)).state).toBe('running')
    expect((await sbx.commands.run('echo still here')).stdout).toBe('still here\n')
    expect(await Sandbox.pause(sbx.sandboxId, fx.conn)).toBe(true)
    expect((await Sandbox.getInfo(sbx.sandboxId, fx.conn)).state).toBe('paused')
    const mine = fx.standIn.calls('pause').slice(before).filter((call) => call.sandboxId === sbx.sandboxId)
    expect(mine).toEqual([500, 500, 204].map((answer) => ({ kind: 'pause', sandboxId: sbx.sandboxId, at: expect.any(Date), answer })))
    await Sandbox.kill(sbx.sandboxId, fx.conn)
    await Sandbox.kill(other.sandboxId, fx.conn)
  })

  it('fails the next kills with an error or a cut connection, the sandbox living on, and records which sandbox each create and kill was', async () => {
    const sbx = await Sandbox.create('base', { ...fx.conn, timeoutMs: 120_000, metadata: { sessionId: 'ses_kill' } })
    expect(fx.standIn.calls('create').at(-1)).toEqual({ kind: 'create', sandboxId: sbx.sandboxId, metadata: { sessionId: 'ses_kill' }, at: expect.any(Date), answer: 201 })
    const before = fx.standIn.calls('kill').length
    fx.standIn.failNextKills(1)
    await expect(Sandbox.kill(sbx.sandboxId, fx.conn)).rejects.toThrow(/500/)
    fx.standIn.failNextKills(1, { how: 'drop' })
    // No answer at all: the SDK's fetch fails, as it does when E2B cannot be reached.
    await expect(Sandbox.kill(sbx.sandboxId, fx.conn)).rejects.toThrow(/fetch failed/)
    expect((await sbx.commands.run('echo still here')).stdout).toBe('still here\n')
    expect(await Sandbox.kill(sbx.sandboxId, fx.conn)).toBe(true)
    expect(fx.standIn.list().some((s) => s.sandboxId === sbx.sandboxId)).toBe(false)
    expect(await Sandbox.kill(sbx.sandboxId, fx.conn)).toBe(false)
    const kills = fx.standIn.calls('kill').slice(before)
    expect(kills).toEqual([500, 'dropped', 204, 404].map((answer) => ({ kind: 'kill', sandboxId: sbx.sandboxId, at: expect.any(Date), answer })))
    expect(kills.map((k) => k.at.getTime())).toEqual(kills.map((k) => k.at.getTime()).sort((a, b) => a - b))
  })
})

describe('timeout', () => {
  it('kills a sandbox whose timeout passes; it is then not found', async () => {
    const sbx = await Sandbox.create('base', { ...fx.conn, timeoutMs: 2_000 })
    await sbx.commands.run('sleep 300', { background: true, timeoutMs: 0 })
    const listed = fx.standIn.list().find((s) => s.sandboxId === sbx.sandboxId)!
    const pids = listed.pids
    expect(pids.length).toBeGreaterThan(0)
    await waitFor('the timeout', () =>
      Sandbox.getInfo(sbx.sandboxId, fx.conn).then(() => false, (err: unknown) => err instanceof NotFoundError || Promise.reject(err)),
    )
    expect(pids.filter(processAlive)).toEqual([])
    expect(existsSync(listed.home)).toBe(false)
    expect(fx.standIn.list().some((s) => s.sandboxId === sbx.sandboxId)).toBe(false)
  })
})
