/** Refill failures this close together count toward a pause. */
const FAILURE_WINDOW_MS = 5 * 60_000
const FAILURES_TO_PAUSE = 3

/**
 * `refillRetryMs`: a failed refill is tried again this soon (30 s), until failures pile up.
 * `refillPauseMs`: how long refills stop once they keep failing (5 min): a provider outage is not
 * hammered every 30 s. Both from TIMINGS.
 */
export type RefillTimings = { refillRetryMs: number; refillPauseMs: number }

/** `retryAt`: when the last failure's retry is due (kept, as makes run in the background and end between alarms). */
export type RefillState = { failures: number[]; pausedUntil: number | null; retryAt?: number }

/**
 * After a refill failed at `now`: the failures still counted, and when to try again. Three
 * failures within five minutes pause refills for five minutes; the count then starts afresh.
 */
export function afterRefillFailure(state: RefillState, now: number, t: RefillTimings): RefillState & { retryAt: number } {
  const failures = [...state.failures.filter((at) => now - at < FAILURE_WINDOW_MS), now]
  if (failures.length >= FAILURES_TO_PAUSE) return { failures: [], pausedUntil: now + t.refillPauseMs, retryAt: now + t.refillPauseMs }
  return { failures, pausedUntil: null, retryAt: now + t.refillRetryMs }
}

/** Until when no refill may start: a pause, or a failure's retry not yet due; null when one may start now. */
export function refillBlockedUntil(state: RefillState, now: number): number | null {
  const until = Math.max(state.pausedUntil ?? 0, state.retryAt ?? 0)
  return until > now ? until : null
}
