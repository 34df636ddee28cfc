/**
 * Pure decisions about a session's sandbox over time; the Durable Object carries them out.
 * `now` is passed in so each rule is a table in its tests.
 */

/** How often an active session wakes up to look after its sandbox, even with nobody connected. */
export const WAKE_INTERVAL_MS = 60_000

export type IdleInput = {
  now: number
  expiresAt: number
  /** a turn is running or messages are waiting */
  busy: boolean
  hasSandbox: boolean
  /** connected SSE clients */
  clients: number
}

export type IdleDecision = { action: 'stop'; reason: string } | { action: 'keep'; reason: string }

/**
 * A sandbox costs money while it runs. It is stopped once the idle deadline has passed with no
 * work to do; a connected client alone does not hold it (keepalive does), so a forgotten tab
 * cannot keep a sandbox forever.
 */
export function idleDecision(s: IdleInput): IdleDecision {
  if (!s.hasSandbox) return { action: 'keep', reason: 'no sandbox' }
  if (s.busy) return { action: 'keep', reason: 'working' }
  if (s.now < s.expiresAt) return { action: 'keep', reason: 'not idle long enough' }
  return { action: 'stop', reason: 'idle' }
}

/** The next alarm: the idle deadline, a pending request's deadline or the periodic check, whichever comes first. */
export function nextWakeAt(now: number, expiresAt: number, pendingDeadline?: number): number {
  return Math.max(now + 1_000, Math.min(expiresAt, pendingDeadline ?? Infinity, now + WAKE_INTERVAL_MS))
}
