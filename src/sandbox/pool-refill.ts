/** Sandboxes the warm pool makes at once when WARM_POOL_CONCURRENCY is not set. */
export const DEFAULT_REFILL_CONCURRENCY = 4
/** The most it may be set to: each boot holds a provider slot, and locally a core's share. */
export const MAX_REFILL_CONCURRENCY = 10

export type RefillRound = {
  /** sandboxes ready in the pool now */
  ready: number
  /** WARM_POOL_SIZE */
  target: number
  /** sandboxes this round is making now */
  making: number
  /** WARM_POOL_CONCURRENCY */
  limit: number
  /** a make of this round failed: the backoff decides when to try again, not this round */
  failed: boolean
}

/**
 * How many more sandboxes a refill round starts now: the pool's deficit, less those already
 * being made, up to the limit of makes at once. A burst that empties the pool is made good
 * several boots at a time instead of one after another.
 */
export function refillsToStart({ ready, target, making, limit, failed }: RefillRound): number {
  if (failed) return 0
  return Math.max(0, Math.min(target - ready - making, limit - making))
}
