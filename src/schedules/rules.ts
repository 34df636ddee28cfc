import type { RunStatus } from '../contracts'
import { nextFiring } from '../lib/cron'

/** A schedule pauses itself after this many runs in a row that did not succeed. */
export const MAX_CONSECUTIVE_FAILURES = 3

/** How many firings a schedule keeps listed. */
export const KEPT_FIRINGS = 100

const FINAL: RunStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out']
export const isFinal = (status: RunStatus) => FINAL.includes(status)

/**
 * What a schedule does when its alarm finds it due at `now`: fire once, however many firings
 * passed while nothing ran (the Worker was down, the alarm late), unless its last run is still
 * going, which that firing then skips; and when it fires next, counted from now, so missed
 * firings are not made up one by one.
 */
export function dueFiring(
  schedule: { cron: string; timezone: string; runOpen: boolean },
  now: number,
): { fire: boolean; nextAt: number | undefined } {
  return { fire: !schedule.runOpen, nextAt: nextFiring(schedule.cron, schedule.timezone, now) }
}

/**
 * A run of the schedule ended: a success clears the count of failures in a row, anything else
 * adds one, and the third in a row pauses the schedule, saying why.
 */
export function afterRun(failuresInARow: number, status: RunStatus): { failuresInARow: number; pause?: string } {
  if (status === 'succeeded') return { failuresInARow: 0 }
  const failures = failuresInARow + 1
  if (failures < MAX_CONSECUTIVE_FAILURES) return { failuresInARow: failures }
  return {
    failuresInARow: failures,
    pause: `paused after ${failures} runs in a row that did not succeed (the last ${status}); resume it to try again`,
  }
}
