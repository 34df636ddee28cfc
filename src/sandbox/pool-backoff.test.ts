import { describe, expect, it } from 'vitest'
import { afterRefillFailure, REFILL_PAUSE_MS, REFILL_RETRY_MS } from './pool-backoff'

describe('a warm pool whose refills fail', () => {
  const now = 10_000_000
  it('tries again in 30 s after a first and a second failure', () => {
    const first = afterRefillFailure({ failures: [], pausedUntil: null }, now)
    expect(first).toEqual({ failures: [now], pausedUntil: null, retryAt: now + REFILL_RETRY_MS })
    const second = afterRefillFailure(first, now + REFILL_RETRY_MS)
    expect(second.pausedUntil).toBeNull()
    expect(second.retryAt).toBe(now + 2 * REFILL_RETRY_MS)
  })

  it('pauses refills for five minutes at the third failure within five minutes, then counts afresh', () => {
    const third = afterRefillFailure({ failures: [now - 60_000, now - 30_000], pausedUntil: null }, now)
    expect(third).toEqual({ failures: [], pausedUntil: now + REFILL_PAUSE_MS, retryAt: now + REFILL_PAUSE_MS })
    const after = afterRefillFailure(third, now + REFILL_PAUSE_MS)
    expect(after.pausedUntil).toBeNull()
  })

  it('forgets failures older than five minutes', () => {
    const spread = afterRefillFailure({ failures: [now - 6 * 60_000, now - 5 * 60_000], pausedUntil: null }, now)
    expect(spread).toEqual({ failures: [now], pausedUntil: null, retryAt: now + REFILL_RETRY_MS })
  })
})
