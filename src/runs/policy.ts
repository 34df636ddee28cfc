/** Callback delivery: attempts and the pause before each retry. */
export const CALLBACK_ATTEMPTS = 5
export const CALLBACK_BASE_DELAY_MS = 1_000

/** When to try a callback again after `attempts` failed tries, or never. */
export function nextCallbackDelay(attempts: number): number | undefined {
  if (attempts >= CALLBACK_ATTEMPTS) return undefined
  return CALLBACK_BASE_DELAY_MS * 2 ** (attempts - 1)
}

/** A run's turn is over when the agent went idle and no late error followed within this window. */
export const SETTLE_MS = 1_500
