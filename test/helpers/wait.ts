import { inspect } from 'node:util'

/** Thrown by a probe when the awaited condition can no longer come true: waiting stops at once. */
export class GiveUp extends Error {}

const POLL_MS = 150

/**
 * Polls `probe` until it returns something truthy, and returns that. A probe that throws is
 * tried again (a server still starting, a file not yet written), except with GiveUp. On timeout
 * the error names what was awaited and carries the last error or value seen, so a red test says
 * why instead of only that it waited.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let last: string
    let cause: unknown
    try {
      const value = await probe()
      if (value) return value
      last = `the last check returned ${inspect(value)}`
    } catch (err) {
      if (err instanceof GiveUp) throw err
      cause = err
      last = `the last check threw ${err instanceof Error ? err.message : inspect(err)}`
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${last}`, { cause })
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}
