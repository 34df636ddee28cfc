import { afterAll, beforeAll, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, waitFor, waitForStatus } from '../helpers'

/**
 * The warm pool backs off when E2B refuses to create (README, "When things break"): three failed
 * refills within five minutes pause refills for five minutes, and `/health` says until when.
 */

let own: OwnStack

beforeAll(async () => {
  own = await startOwnStack('e2b-pool-backoff', { WARM_POOL_SIZE: '1' }, { e2bStandIn: { apiKey: 'e2b_pool_backoff_key_0123456789' }, scriptedModel: true })
})

afterAll(async () => {
  await own?.close()
})

const health = async () => (await api('/health', { key: null })).body.warmPool as { target: number; ready: number; refillPausedUntil?: string }

it('pauses refills for five minutes after three failed creates, says so on /health, and tries none meanwhile', async () => {
  const standIn = own.stack.e2b!
  await waitFor('the pool to fill', async () => (await health())?.ready === 1, 90_000)
  standIn.failNextCreates(1_000)
  try {
    const attemptsBefore = standIn.createAttempts()
    // The session takes the warm sandbox; the refill that follows fails, and fails again 30 s apart.
    const id = await createSession()
    await waitForStatus(id, 'idle')
    const paused = await waitFor('refills to pause', async () => (await health()).refillPausedUntil, 180_000)
    const pausedAt = Date.now()
    expect(standIn.createAttempts() - attemptsBefore).toBe(3)
    const until = Date.parse(paused)
    expect(until).toBeGreaterThan(pausedAt + 4 * 60_000)
    expect(until).toBeLessThanOrEqual(pausedAt + 5 * 60_000)

    // E2B is back, but the pause holds: past the 30 s a retry would wait, nothing was tried.
    standIn.failNextCreates(0)
    await new Promise((r) => setTimeout(r, 40_000))
    expect(standIn.createAttempts() - attemptsBefore).toBe(3)
    expect(await health()).toEqual({ target: 1, ready: 0, refillPausedUntil: paused })
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  } finally {
    standIn.failNextCreates(0)
  }
})
