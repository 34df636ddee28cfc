import { CommandExitError, Sandbox } from 'e2b'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers'
import { startFixture, type StandInFixture } from '../helpers/standin'

/** envd's PTY through the real SDK: `sandbox.pty.create`, sendInput, resize, kill, and the exit code. */

let fx: StandInFixture
let sbx: Sandbox

beforeAll(async () => {
  fx = await startFixture()
  sbx = await Sandbox.create('any-template', { ...fx.conn, timeoutMs: 300_000 })
})

afterAll(async () => {
  await fx?.close()
})

/** A PTY whose output so far is kept as text. */
async function pty(opts: { cols: number; rows: number; cwd?: string }) {
  let text = ''
  const decoder = new TextDecoder()
  const handle = await sbx.pty.create({ ...opts, timeoutMs: 0, onData: (bytes) => void (text += decoder.decode(bytes, { stream: true })) })
  const until = (pattern: RegExp) => waitFor(`pty output matching ${pattern}`, () => pattern.test(text), 30_000)
  const type = (input: string) => sbx.pty.sendInput(handle.pid, new TextEncoder().encode(input))
  return { handle, until, type, text: () => text }
}

describe('sandbox.pty', () => {
  it('runs a login shell of the given size in the given folder, resized on request, and reports its exit code', async () => {
    const { handle, until, type } = await pty({ cols: 77, rows: 21, cwd: '/tmp' })
    await type('pwd; stty size; echo "TERM=$TERM"\r')
    await until(/\/tmp\r\n21 77\r\nTERM=xterm-256color\r\n/)
    await sbx.pty.resize(handle.pid, { cols: 101, rows: 31 })
    await type('stty size\r')
    await until(/31 101\r\n/)
    await type('exit 3\r')
    const ended = await handle.wait().catch((err: unknown) => err)
    expect(ended).toBeInstanceOf(CommandExitError)
    expect((ended as CommandExitError).exitCode).toBe(3)
  })

  it('is killed with everything it started, and refuses input once gone', async () => {
    const { handle, until, type } = await pty({ cols: 80, rows: 24 })
    await type('sleep 600 & echo started-$((2+2))\r')
    await until(/started-4/)
    expect(await sbx.pty.kill(handle.pid)).toBe(true)
    await handle.wait().catch(() => undefined)
    await expect(type('echo late\r')).rejects.toThrow()
    expect((await sbx.commands.list()).some((p) => p.pid === handle.pid)).toBe(false)
  })

  it('refuses a PTY without a size, and PTY input to a process that has none', async () => {
    const plain = await sbx.commands.run('sleep 30', { background: true, stdin: true })
    await expect(sbx.pty.sendInput(plain.pid, new TextEncoder().encode('x'))).rejects.toThrow(/no PTY/)
    await expect(sbx.pty.resize(plain.pid, { cols: 80, rows: 24 })).rejects.toThrow(/no PTY/)
    await plain.kill()
    await expect(sbx.pty.create({ cols: 0, rows: 0, onData: () => undefined })).rejects.toThrow(/size/)
  })
})
