/** Refill failures this close together count toward a pause. */
const FAILURE_WINDOW_MS = 5 * 60_000
const FAILURES_TO_PAUSE = 3
/** How long refills stop once they keep failing: a provider outage is not hammered every 30 s. */
export const REFILL_PAUSE_MS = 5 * 60_000
/** A failed refill is tried again this soon, until failures pile up. */
export const REFILL_RETRY_MS = 30_000

export type RefillState = { failures: number[]; pausedUntil: number | null }

/**
 * After a refill failed at `now`: the failures still counted, and when to try again. Three
 * failures within five minutes pause refills for five minutes; the count then starts afresh.
 */
export function afterRefillFailure(state: RefillState, now: number): RefillState & { retryAt: number } {
  const failures = [...state.failures.filter((t) => now - t < FAILURE_WINDOW_MS), now]
  if (failures.length >= FAILURES_TO_PAUSE) return { failures: [], pausedUntil: now + REFILL_PAUSE_MS, retryAt: now + REFILL_PAUSE_MS }
  return { failures, pausedUntil: null, retryAt: now + REFILL_RETRY_MS }
}
