import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalSandboxProvider } from '../src/sandbox/local'
import { startSandboxHost, type SandboxHost } from './sandbox-host'

/** The local provider and its host together: the seam a session uses in development. */

let root: string
let host: SandboxHost
let provider: LocalSandboxProvider

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'osw-host-'))
  host = await startSandboxHost({ root, token: 'host-token' })
  provider = new LocalSandboxProvider(host.url, 'host-token')
})

afterAll(async () => {
  await host?.close()
  await rm(root, { recursive: true, force: true })
})

const stateOf = (pid: number): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.charAt(0)

/** A signal takes effect a moment after it is sent. */
async function settledState(pid: number, want: string): Promise<string> {
  for (let i = 0; i < 50 && stateOf(pid) !== want; i++) await new Promise((r) => setTimeout(r, 20))
  return stateOf(pid)
}

describe('local sandboxes', () => {
  it('pause stops every process where it stands, and resume lets it go on', async () => {
    const { sandboxId } = await provider.create({ envs: {}, metadata: {} })
    const running = provider.exec(sandboxId, 'echo $$ > pid; sleep 1; echo done', { timeoutMs: 60_000 })
    let pid = 0
    for (let i = 0; i < 100 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 50))
      pid = Number((await provider.exec(sandboxId, 'cat pid 2>/dev/null || true')).stdout.trim())
    }
    await provider.pause(sandboxId)
    expect(await settledState(pid, 'T')).toBe('T')
    expect(await provider.status(sandboxId)).toBe('paused')
    await expect(provider.exec(sandboxId, 'true')).rejects.toThrow(/paused/)

    await provider.resume(sandboxId)
    expect((await running).stdout).toBe('done\n')
    expect(await provider.status(sandboxId)).toBe('agent_exited')
    await provider.kill(sandboxId)
    expect(await provider.status(sandboxId)).toBe('gone')
  })

  it('kills a paused sandbox', async () => {
    const { sandboxId } = await provider.create({ envs: {}, metadata: {} })
    const running = provider.exec(sandboxId, 'sleep 30', { timeoutMs: 60_000 })
    await new Promise((r) => setTimeout(r, 200))
    await provider.pause(sandboxId)
    await provider.kill(sandboxId)
    expect((await running).exitCode).not.toBe(0)
    expect(await provider.status(sandboxId)).toBe('gone')
  })
})
