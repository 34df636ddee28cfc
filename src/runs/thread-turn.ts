import type { RunStatus, RunView, SlackTarget } from '../contracts'
import type { RunRow } from './run-row'

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

/** Whether a message in `target` is in the run's own thread: the same team, channel and thread. */
export function ownThread(own: SlackTarget | undefined, target: SlackTarget): own is SlackTarget {
  return own !== undefined && own.team === target.team && own.channel === target.channel && own.threadTs === target.threadTs
}

/** What a turn in the run's thread starts afresh, put back as it was if the turn cannot be sent. */
export const CONTINUED_FIELDS = ['status', 'session_kept_until', 'deadline', 'settle_at', 'reply', 'structured', 'result', 'error', 'callback_state', 'callback_attempts', 'next_callback_at'] as const

/** The run as one more turn starts: running again until `deadline`, nothing of the last turn's outcome kept. */
export function continuedRow(deadline: number): Pick<RunRow, (typeof CONTINUED_FIELDS)[number]> {
  return {
    status: 'running', session_kept_until: null, deadline, settle_at: null, reply: null, structured: null,
    result: null, error: null, callback_state: 'none', callback_attempts: '[]', next_callback_at: null,
  }
}
