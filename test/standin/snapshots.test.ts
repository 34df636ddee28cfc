import { existsSync } from 'node:fs'
import { Sandbox } from 'e2b'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { processState } from '../helpers'
import { startFixture, type StandInFixture } from '../helpers/standin'

/**
 * Snapshots through the real SDK: `createSnapshot` keeps the disk and the memory (the processes,
 * their environment, the files envd wrote), a sandbox made from one runs those processes again;
 * a pause without memory ends every process, and the connect after it boots afresh.
 */

let fx: StandInFixture

beforeAll(async () => {
  fx = await startFixture()
})

afterAll(async () => {
  await fx?.close()
})

const SECRET = 'canary-in-memory-4e1d'
const TOKEN = 'canary-written-token-77b2'
/** Everything a sandbox's user can see of its processes: command lines and environments. */
const LOOK = 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo; tr "\\0" "\\n" < $p/environ; done 2>/dev/null; true'

/** A sandbox with a file on its disk, a credential written through envd and removed, and a process holding a secret in its environment. */
async function prepared(): Promise<{ sbx: Sandbox; home: string }> {
  const sbx = await Sandbox.create('base', { ...fx.conn, timeoutMs: 120_000 })
  const home = (await sbx.commands.run('mkdir -p workspace && echo built > workspace/out.txt && pwd', { cwd: '~' })).stdout.trim()
  await sbx.files.write(`${home}/.token`, TOKEN)
  await sbx.commands.run(`rm ${home}/.token`)
  await sbx.commands.run('sleep 600', { background: true, timeoutMs: 0, envs: { HELD: SECRET } })
  return { sbx, home }
}

describe('snapshots', () => {
  it('keep the memory of a running sandbox: a sandbox made from one runs its processes again, with their environment', async () => {
    const { sbx, home } = await prepared()
    const { snapshotId } = await sbx.createSnapshot()
    expect((await sbx.commands.run('echo still running')).stdout).toBe('still running\n')
    const record = fx.standIn.snapshots().find((s) => s.snapshotId === snapshotId)!
    expect(JSON.stringify(record.memory)).toContain(SECRET)
    expect(JSON.stringify(record.memory)).toContain(TOKEN)

    const copy = await Sandbox.create(snapshotId, { ...fx.conn, timeoutMs: 120_000 })
    expect((await copy.commands.run('cat workspace/out.txt && pwd', { cwd: home })).stdout).toBe(`built\n${home}\n`)
    const seen = (await copy.commands.run(LOOK)).stdout
    expect(seen).toContain('sleep 600')
    expect(seen).toContain(`HELD=${SECRET}`)
    await copy.kill()
    await sbx.kill()
  })

  it('taken after a pause without memory and a connect, hold the disk only: nothing runs again, no written file is in memory', async () => {
    const { sbx, home } = await prepared()
    const before = fx.standIn.list().find((s) => s.sandboxId === sbx.sandboxId)!.pids
    expect(before.length).toBeGreaterThan(0)
    await sbx.pause({ keepMemory: false })
    // ended: gone, or a zombie its parent outside has yet to reap
    expect(before.map(processState).filter((state) => state !== undefined && state !== 'Z')).toEqual([])
    const booted = await Sandbox.connect(sbx.sandboxId, { ...fx.conn, timeoutMs: 120_000 })
    expect(await booted.commands.list()).toEqual([])
    expect((await booted.commands.run(LOOK)).stdout).not.toContain(SECRET)

    const { snapshotId } = await booted.createSnapshot()
    const record = fx.standIn.snapshots().find((s) => s.snapshotId === snapshotId)!
    expect(JSON.stringify(record.memory)).not.toContain(SECRET)
    expect(JSON.stringify(record.memory)).not.toContain(TOKEN)
    const copy = await Sandbox.create(snapshotId, { ...fx.conn, timeoutMs: 120_000 })
    expect((await copy.commands.run('cat workspace/out.txt', { cwd: home })).stdout).toBe('built\n')
    expect((await copy.commands.run(LOOK)).stdout).not.toContain('sleep 600')
    await copy.kill()
    await booted.kill()
  })

  it('a connect that asks for a reboot ends what a pause with memory kept', async () => {
    const { sbx } = await prepared()
    await sbx.pause()
    const booted = await Sandbox.connect(sbx.sandboxId, { ...fx.conn, timeoutMs: 120_000, onResume: 'reboot' })
    expect(await booted.commands.list()).toEqual([])
    expect((await booted.commands.run(LOOK)).stdout).not.toContain(SECRET)
    await booted.kill()
  })

  it('are listed by their sandbox, outlive it, and are deleted once', async () => {
    const sbx = await Sandbox.create('base', { ...fx.conn, timeoutMs: 120_000 })
    const { snapshotId } = await sbx.createSnapshot()
    const listed = await Sandbox.listSnapshots({ ...fx.conn, sandboxId: sbx.sandboxId }).nextItems()
    expect(listed.map((s) => s.snapshotId)).toEqual([snapshotId])
    await sbx.kill()
    const disk = fx.standIn.snapshots().find((s) => s.snapshotId === snapshotId)!.disk
    const copy = await Sandbox.create(snapshotId, { ...fx.conn, timeoutMs: 120_000 })
    await copy.kill()
    expect(await Sandbox.deleteSnapshot(snapshotId, fx.conn)).toBe(true)
    expect(existsSync(disk)).toBe(false)
    expect(await Sandbox.deleteSnapshot(snapshotId, fx.conn)).toBe(false)
    await expect(Sandbox.create(snapshotId, { ...fx.conn, timeoutMs: 120_000 })).rejects.toThrow()
  })
})
