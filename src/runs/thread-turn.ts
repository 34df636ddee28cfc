import type { RunStatus, RunView } from '../contracts'

/**
 * A run started in a Slack thread goes on in it: its turn ends as any run's does (result, pull
 * request, the reply in the thread), but its session is kept, paused once idle, so that a reply in
 * the thread is one more turn of the same conversation rather than a stranger's new run. Kept for
 * a day; a message after that, or after a run that never had a session or was stopped, starts a
 * fresh run.
 */
export const THREAD_SESSION_KEPT_MS = 24 * 60 * 60 * 1000

/** When the session of a run that just ended `status` is ended: now (null), or not before the returned time. */
export function sessionKeptUntil(run: { status: RunStatus; inSlackThread: boolean; hadSession: boolean }, now: number): number | null {
  const turnEnded = run.status === 'succeeded' || run.status === 'failed'
  return run.inSlackThread && run.hadSession && turnEnded ? now + THREAD_SESSION_KEPT_MS : null
}

/**
 * What a message in a run's thread does: a turn of its session, nothing while a turn still runs or
 * its result is still on its way to the thread (`delivering`), or (`ended`) a fresh run.
 */
export function threadTurn(run: { final: boolean; delivering: boolean; sessionKeptUntil: number | null }, now: number): 'continue' | 'busy' | 'ended' {
  if (!run.final || run.delivering) return 'busy'
  return run.sessionKeptUntil !== null && now < run.sessionKeptUntil ? 'continue' : 'ended'
}

/**
 * A thread's message, as its run took it: its next turn, or why not (`elsewhere`: the run is not
 * this thread's; `unsent`: the session refused the message, e.g. its budget).
 */
export type ThreadReply = { continued: RunView } | { refused: 'busy' | 'ended' | 'elsewhere' | 'unsent'; reason: string }
