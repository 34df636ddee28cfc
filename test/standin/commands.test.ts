import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CommandExitError, Sandbox, TimeoutError } from 'e2b'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers'
import { startFixture, type StandInFixture } from '../helpers/standin'

/** envd through the real SDK: commands (foreground and background) and files. */

let fx: StandInFixture
let sbx: Sandbox

beforeAll(async () => {
  fx = await startFixture()
  sbx = await Sandbox.create('any-template', {
    ...fx.conn,
    envs: { MY_VAR: 'from create', SHARED: 'create' },
    metadata: { purpose: 'commands' },
    timeoutMs: 300_000,
    network: { allowPublicTraffic: false },
  })
})

afterAll(async () => {
  await fx?.close()
})

describe('commands.run', () => {
  it('passes create-time envs to every command, under the call envs', async () => {
    const first = await sbx.commands.run('echo "$MY_VAR"')
    expect(first.stdout).toBe('from create\n')
    const second = await sbx.commands.run('echo "$MY_VAR/$SHARED"', { envs: { SHARED: 'call' } })
    expect(second.stdout).toBe('from create/call\n')
  })

  it('runs in the sandbox home by default, in a sandbox folder of its own', async () => {
    const r = await sbx.commands.run('pwd; echo "$HOME"; echo "$USER"')
    const [pwd, home, user] = r.stdout.trim().split('\n')
    expect(pwd).toBe(home)
    expect(user).toBe('user')
    const listed = fx.standIn.list().find((s) => s.sandboxId === sbx.sandboxId)
    expect(listed?.home).toBe(home)
    expect(listed?.metadata).toEqual({ purpose: 'commands' })
  })

  it('honours cwd, absolute or relative to home', async () => {
    await sbx.commands.run('mkdir -p work/inner')
    const relative = await sbx.commands.run('pwd', { cwd: 'work/inner' })
    expect(relative.stdout.trim()).toMatch(/\/home\/user\/work\/inner$/)
    const absolute = await sbx.commands.run('pwd', { cwd: '/tmp' })
    expect(absolute.stdout.trim()).toBe('/tmp')
  })

  it('surfaces a non-zero exit as CommandExitError with its output', async () => {
    const err = await sbx.commands.run('echo out; echo oops >&2; exit 3').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CommandExitError)
    const exit = err as CommandExitError
    expect(exit.exitCode).toBe(3)
    expect(exit.stdout).toBe('out\n')
    expect(exit.stderr).toBe('oops\n')
  })

  it('streams output to callbacks as it comes', async () => {
    const lines: string[] = []
    await sbx.commands.run('for i in 1 2 3; do echo line$i; sleep 0.05; done', { onStdout: (d) => void lines.push(d) })
    expect(lines.join('')).toBe('line1\nline2\nline3\n')
  })

  it('kills a foreground command at its timeout', async () => {
    const err = await sbx.commands.run('sleep 30', { timeoutMs: 1_000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    await waitFor('the kill', async () => !(await sbx.commands.list()).some((p) => p.args.includes('sleep 30')))
  })

  it('keeps a background command with timeoutMs 0 running after the call returns', async () => {
    const handle = await sbx.commands.run('i=0; while true; do i=$((i+1)); echo $i > ticks; sleep 0.1; done', {
      background: true,
      timeoutMs: 0,
    })
    const ticksFile = join(fx.standIn.list()[0]!.home, 'ticks')
    const first = await waitFor('first tick', async () => Number(await readFile(ticksFile, 'utf8')))
    await waitFor('later ticks', async () => Number(await readFile(ticksFile, 'utf8')) > first)
    const running = await sbx.commands.list()
    expect(running.map((p) => p.pid)).toContain(handle.pid)
    expect(fx.standIn.list()[0]!.pids).toContain(handle.pid)
    expect(await sbx.commands.kill(handle.pid)).toBe(true)
    await waitFor('the kill', async () => !(await sbx.commands.list()).some((p) => p.pid === handle.pid))
  })

  it('ends the stream of a client connected to a running command with its exit, when something else kills it', async () => {
    // How a session hears that opencode exited (src/sandbox/e2b.ts, agentExit).
    const started = await sbx.commands.run('sleep 60', { background: true, timeoutMs: 0 })
    await started.disconnect()
    const watching = await sbx.commands.connect(started.pid, { timeoutMs: 0 })
    const ended = watching.wait().catch((err: unknown) => err)
    expect(await sbx.commands.kill(started.pid)).toBe(true)
    const end = await ended
    expect(end).toBeInstanceOf(CommandExitError)
    expect((end as CommandExitError).error).toBe('signal: killed')
  })

  it('feeds stdin to a command started with it', async () => {
    const handle = await sbx.commands.run('read line; echo "got $line"', { background: true, stdin: true })
    await handle.sendStdin('hello\n')
    const result = await handle.wait()
    expect(result.stdout).toBe('got hello\n')
  })
})

describe('files', () => {
  it('writes and reads back text and bytes, creating folders', async () => {
    await sbx.files.write('notes/a.txt', 'first file')
    expect(await sbx.files.read('notes/a.txt')).toBe('first file')
    const bytes = new Uint8Array([0, 1, 2, 250, 255])
    await sbx.files.write('/tmp/standin-bytes.bin', bytes.buffer)
    expect(await sbx.files.read('/tmp/standin-bytes.bin', { format: 'bytes' })).toEqual(bytes)
    const cat = await sbx.commands.run('cat notes/a.txt')
    expect(cat.stdout).toBe('first file')
  })

  it('writes several files in one call', async () => {
    await sbx.files.write([
      { path: 'many/one.txt', data: 'one' },
      { path: 'many/two.txt', data: 'two' },
    ])
    expect(await sbx.files.read('many/one.txt')).toBe('one')
    expect(await sbx.files.read('many/two.txt')).toBe('two')
    const names = (await sbx.files.list('many')).map((e) => e.name).sort()
    expect(names).toEqual(['one.txt', 'two.txt'])
  })

  it('reports a missing file as not found', async () => {
    expect(await sbx.files.exists('nope.txt')).toBe(false)
    await expect(sbx.files.read('nope.txt')).rejects.toThrow(/does not exist/)
  })
})

describe('envd access', () => {
  const envd = (path: string, headers: Record<string, string>, init: RequestInit = {}) =>
    fetch(`${fx.standIn.sandboxUrl}${path}`, { ...init, headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', ...headers } })

  it('answers health without the access token, and nothing else', async () => {
    expect((await envd('/health', {})).status).toBe(204)
    const list = { method: 'POST', body: '{}' }
    expect((await envd('/process.Process/List', { 'content-type': 'application/json', 'X-Access-Token': 'wrong' }, list)).status).toBe(401)
    // The SDK keeps the token to itself; E2B's REST API hands it out, as the stand-in does.
    const detail = await fetch(`${fx.standIn.apiUrl}/sandboxes/${sbx.sandboxId}`, { headers: { 'X-API-KEY': fx.conn.apiKey } })
    const { envdAccessToken } = (await detail.json()) as { envdAccessToken: string }
    const ok = await envd('/process.Process/List', { 'content-type': 'application/json', 'X-Access-Token': envdAccessToken }, list)
    expect(ok.status).toBe(200)
    expect((await envd('/files?path=notes/a.txt', {})).status).toBe(401)
  })

  it('serves signed file URLs without the token', async () => {
    await sbx.files.write('signed.txt', 'by signature')
    const url = await sbx.downloadUrl('signed.txt', { useSignatureExpiration: 60 })
    const res = await fetch(url, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983' } })
    expect(await res.text()).toBe('by signature')
  })
})
