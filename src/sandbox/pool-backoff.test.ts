import { describe, expect, it } from 'vitest'
import { DEFAULT_TIMINGS } from '../config/timings'
import { afterRefillFailure, refillBlockedUntil } from './pool-backoff'

const REFILL_RETRY_MS = 30_000
const REFILL_PAUSE_MS = 5 * 60_000

describe('a warm pool whose refills fail', () => {
  const now = 10_000_000
  it('tries again in 30 s after a first and a second failure', () => {
    const first = afterRefillFailure({ failures: [], pausedUntil: null }, now, DEFAULT_TIMINGS)
    expect(first).toEqual({ failures: [now], pausedUntil: null, retryAt: now + REFILL_RETRY_MS })
    const second = afterRefillFailure(first, now + REFILL_RETRY_MS, DEFAULT_TIMINGS)
    expect(second.pausedUntil).toBeNull()
    expect(second.retryAt).toBe(now + 2 * REFILL_RETRY_MS)
  })

  it('pauses refills for five minutes at the third failure within five minutes, then counts afresh', () => {
    const third = afterRefillFailure({ failures: [now - 60_000, now - 30_000], pausedUntil: null }, now, DEFAULT_TIMINGS)
    expect(third).toEqual({ failures: [], pausedUntil: now + REFILL_PAUSE_MS, retryAt: now + REFILL_PAUSE_MS })
    const after = afterRefillFailure(third, now + REFILL_PAUSE_MS, DEFAULT_TIMINGS)
    expect(after.pausedUntil).toBeNull()
  })

  it('forgets failures older than five minutes', () => {
    const spread = afterRefillFailure({ failures: [now - 6 * 60_000, now - 5 * 60_000], pausedUntil: null }, now, DEFAULT_TIMINGS)
    expect(spread).toEqual({ failures: [now], pausedUntil: null, retryAt: now + REFILL_RETRY_MS })
  })

  it('waits as long as TIMINGS says', () => {
    const short = { refillRetryMs: 1_000, refillPauseMs: 5_000 }
    expect(afterRefillFailure({ failures: [], pausedUntil: null }, now, short).retryAt).toBe(now + 1_000)
    expect(afterRefillFailure({ failures: [now - 2, now - 1], pausedUntil: null }, now, short)).toMatchObject({ pausedUntil: now + 5_000, retryAt: now + 5_000 })
  })
})

describe('whether a refill may start', () => {
  const now = 10_000_000
  it('waits for a pause or a failure\'s retry, whichever ends later', () => {
    expect(refillBlockedUntil({ failures: [], pausedUntil: null }, now)).toBeNull()
    expect(refillBlockedUntil({ failures: [now], pausedUntil: null, retryAt: now + 1 }, now)).toBe(now + 1)
    expect(refillBlockedUntil({ failures: [], pausedUntil: now + 5, retryAt: now + 1 }, now)).toBe(now + 5)
    expect(refillBlockedUntil({ failures: [], pausedUntil: now - 5, retryAt: now }, now)).toBeNull()
  })
})
