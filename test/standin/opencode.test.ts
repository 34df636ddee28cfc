import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Sandbox } from 'e2b'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { eventually, portFetch, startFixture, type StandInFixture } from './helpers'

/** The production path end to end: `opencode serve` started as src/sandbox/e2b.ts starts it, reached through the sandbox URL. */

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin')

let fx: StandInFixture

beforeAll(async () => {
  fx = await startFixture({ pathPrepend: [BIN] })
})

afterAll(async () => {
  await fx?.close()
})

it('runs opencode serve on 0.0.0.0:4096 in a sandbox and streams its events through the proxy', async () => {
  const sbx = await Sandbox.create('opencode', { ...fx.conn, timeoutMs: 120_000, network: { allowPublicTraffic: false } })
  const where = await sbx.commands.run('mkdir -p "$HOME/workspace" && printf "%s" "$HOME/workspace"')
  await sbx.commands.run('opencode serve --hostname 0.0.0.0 --port 4096', { background: true, timeoutMs: 0, cwd: where.stdout })
  const health = await eventually(async () => {
    // A request that arrives while opencode boots can hang unanswered (seen inside a sandbox
    // without the proxy too): each probe gets its own deadline.
    const res = await portFetch(fx, sbx, 4096, '/global/health', { init: { signal: AbortSignal.timeout(2_000) } })
    return res.ok ? ((await res.json()) as { healthy?: boolean }) : undefined
  }, 'opencode to answer')
  expect(health.healthy).toBe(true)
  const events = await portFetch(fx, sbx, 4096, '/event')
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader()
  const first = await reader.read()
  expect(first.value).toContain('server.connected')
  await reader.cancel()
})
