import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { guardStub } from '../../src/durable-objects'

/** Inside workerd, on a real SQLite-backed Durable Object: what the webhook routes remember. */

describe('WebhookGuard', () => {
  it('sees a key once while it is remembered, and again once forgotten', async () => {
    const guard = guardStub(env, 'sightings')
    expect(await guard.firstSighting('sha256=aa', 60_000)).toBe(true)
    expect(await guard.firstSighting('sha256=aa', 60_000)).toBe(false)
    expect(await guard.firstSighting('sha256=bb', 60_000)).toBe(true)
    expect(await guard.firstSighting('sha256=cc', 0)).toBe(true)
    expect(await guard.firstSighting('sha256=cc', 0)).toBe(true)
  })

  it('admits up to the limit within the window, and a key admitted before again', async () => {
    const guard = guardStub(env, 'acme/widgets')
    expect(await guard.admit('comment:1', 2, 3_600_000)).toBe(true)
    expect(await guard.admit('comment:2', 2, 3_600_000)).toBe(true)
    expect(await guard.admit('comment:3', 2, 3_600_000)).toBe(false)
    expect(await guard.admit('comment:1', 2, 3_600_000)).toBe(true)
    // Another scope counts apart.
    expect(await guardStub(env, 'acme/gadgets').admit('comment:3', 2, 3_600_000)).toBe(true)
    // Past the window, the earlier admissions no longer count.
    expect(await guard.admit('comment:4', 2, 0)).toBe(true)
  })
})
