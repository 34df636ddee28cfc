import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Sandbox } from 'e2b'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixture, type StandInFixture } from '../helpers/standin'

/** `Sandbox.fork` through the real SDK: the copy keeps the original's paths, as E2B's does, and lives on its own. */

let fx: StandInFixture

beforeAll(async () => {
  fx = await startFixture()
})

afterAll(async () => {
  await fx?.close()
})

const hostHome = (sbx: Sandbox) => fx.standIn.list().find((s) => s.sandboxId === sbx.sandboxId)!.home

describe('fork', () => {
  it("copies the home to the same path, apart from the original's, and outlives it", async () => {
    const original = await Sandbox.create('base', { ...fx.conn, timeoutMs: 120_000 })
    const home = (await original.commands.run('mkdir -p work && echo one > work/notes && pwd', { cwd: '~' })).stdout.trim()
    const [copy] = await Sandbox.fork(original.sandboxId, { ...fx.conn, timeoutMs: 120_000 })
    if (!(copy instanceof Sandbox)) throw copy
    const seen = await copy.commands.run('echo "$HOME" && pwd && cat notes', { cwd: `${home}/work` })
    expect(seen.stdout).toBe(`${home}\n${home}/work\none\n`)

    await copy.files.write(`${home}/work/notes`, 'two\n')
    await copy.commands.run('echo three >> notes', { cwd: `${home}/work` })
    expect(await copy.files.read(`${home}/work/notes`)).toBe('two\nthree\n')
    expect(await original.files.read(`${home}/work/notes`)).toBe('one\n')
    expect(await readFile(join(hostHome(copy), 'work', 'notes'), 'utf8')).toBe('two\nthree\n')

    const originalFolder = hostHome(original)
    await original.kill()
    expect((await copy.commands.run('cat notes', { cwd: `${home}/work` })).stdout).toBe('two\nthree\n')
    const copyFolder = hostHome(copy)
    await copy.kill()
    expect(existsSync(copyFolder)).toBe(false)
    expect(existsSync(originalFolder)).toBe(false)
  })
})
