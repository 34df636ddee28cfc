/**
 * Callback delivery: the pause before each retry, long enough to ride out a receiver's deploy or
 * an hour's outage. Seven attempts in all; each pause varies by ±20 % so that runs that failed
 * together do not retry together.
 */
export const CALLBACK_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 2 * 60_000, 10 * 60_000, 60 * 60_000]
export const CALLBACK_JITTER = 0.2

/** When to try a callback again after `attempt` failed tries (1 = the first), or never; `random` in [0, 1). */
export function callbackRetryDelay(attempt: number, random: number): number | undefined {
  const base = CALLBACK_RETRY_DELAYS_MS[attempt - 1]
  if (base === undefined) return undefined
  return Math.round(base * (1 - CALLBACK_JITTER + 2 * CALLBACK_JITTER * random))
}

/** A run's turn is over when the agent went idle and no late error followed within this window. */
export const SETTLE_MS = 1_500
