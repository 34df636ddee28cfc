import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { E2BSandboxProvider } from '../../src/sandbox/e2b'
import { waitFor } from '../helpers'
import { startFixture, type StandInFixture } from '../helpers/standin'

/** The production path end to end: `opencode serve` started by src/sandbox/e2b.ts itself, reached where it says opencode answers. */

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin')

let fx: StandInFixture

beforeAll(async () => {
  fx = await startFixture({ pathPrepend: [BIN] })
})

afterAll(async () => {
  await fx?.close()
})

it('runs opencode serve on 0.0.0.0:4096 in a sandbox and streams its events through the proxy', async () => {
  const provider = new E2BSandboxProvider({ ...fx.conn, template: 'opencode', timeoutMs: 120_000 })
  const { sandboxId, workdir } = await provider.create({ envs: {}, metadata: {} })
  const endpoint = await provider.startOpencode(sandboxId, { cwd: workdir })
  const health = await waitFor('opencode to answer', async () => {
    // A request that arrives while opencode boots can hang unanswered (seen inside a sandbox
    // without the proxy too): each probe gets its own deadline.
    const res = await fetch(`${endpoint.url}/global/health`, { headers: endpoint.headers, signal: AbortSignal.timeout(2_000) })
    return res.ok ? ((await res.json()) as { healthy?: boolean }) : undefined
  })
  expect(health.healthy).toBe(true)
  expect(await provider.status(sandboxId)).toBe('running')
  const events = await fetch(`${endpoint.url}/event`, { headers: endpoint.headers })
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader()
  const first = await reader.read()
  expect(first.value).toContain('server.connected')
  await reader.cancel()
  await provider.kill(sandboxId)
})
