import type { EventErrorCode } from '../../contracts'
import type { ErrorCode } from '../../lib/errors'
import type { QueueState } from './queue'

/**
 * How a turn (one user message and the agent's work on it) moves: what each thing the session
 * learns about the agent means for the running turn. Pure; the session's turns apply it.
 */

/** What the session knows of the running turn. */
export type TurnFacts = {
  /** opencode said it is working on it: its going idle now means the turn is over */
  seenBusy: boolean
  aborted: boolean
  /** an assistant reply with text came back for it */
  hasReply: boolean
}

export type TurnInput =
  | { kind: 'agent_busy' }
  | { kind: 'agent_idle' }
  /** opencode's session.error; the message says which error */
  | { kind: 'agent_error'; message: string }
  | { kind: 'prompt_refused'; message: string }
  /** an abort was asked for and opencode could not be told */
  | { kind: 'abort_unheard' }
  /** the agent was restarted: whatever it was doing is gone */
  | { kind: 'agent_restarted' }
  /** after a gap, opencode's own record says whether it is still on it */
  | { kind: 'resynced'; agentBusy: boolean }
  | { kind: 'sandbox_lost'; reason: string }
  | { kind: 'session_over'; status: 'ended' | 'failed' }

/** An error a turn ends with: its event's code, and (but for `interrupted`) what its waiters are answered. */
export type TurnError = { code: Extract<EventErrorCode, ErrorCode> | 'interrupted'; message: string }

/** The turn's next facts, and whether it ends here (with an error, or not). */
export type TurnStep = { seenBusy: boolean; end?: { error?: TurnError } }

export function turnStep(turn: TurnFacts, input: TurnInput): TurnStep {
  const seenBusy = turn.seenBusy
  switch (input.kind) {
    case 'agent_busy':
      return { seenBusy: true }
    case 'agent_idle':
      // opencode reports idle before it picks a prompt up: only an idle after busy ends the turn.
      return seenBusy ? { seenBusy, end: {} } : { seenBusy }
    case 'agent_error':
      // An error once busy is followed by idle, which ends the turn with what was written so far.
      return seenBusy ? { seenBusy } : { seenBusy, end: { error: { code: 'agent_unreachable', message: input.message } } }
    case 'prompt_refused':
      return { seenBusy, end: { error: { code: 'agent_unreachable', message: input.message } } }
    case 'abort_unheard':
      return { seenBusy, end: {} }
    case 'agent_restarted':
      return { seenBusy, end: { error: { code: 'interrupted', message: 'the agent stopped in the middle of this turn' } } }
    case 'resynced':
      if (input.agentBusy) return { seenBusy: true }
      // A turn not yet seen running may simply not have reached opencode: its own events will settle it.
      return seenBusy || turn.hasReply ? { seenBusy, end: {} } : { seenBusy }
    case 'sandbox_lost':
      return { seenBusy, end: { error: { code: 'interrupted', message: `the turn was lost: ${input.reason}` } } }
    case 'session_over':
      return { seenBusy, end: { error: { code: 'conflict', message: `the session ${input.status}` } } }
  }
}

/**
 * How an ended turn is recorded: its message's final state in the queue, and the error its
 * waiters get (an interrupted turn is the agent's failure to them).
 */
export function turnOutcome(aborted: boolean, error: TurnError | undefined): { state: QueueState; failure?: ErrorCode } {
  const state = aborted ? 'aborted' : error ? 'failed' : 'done'
  if (!error) return { state }
  return { state, failure: error.code === 'interrupted' ? 'agent_unreachable' : error.code }
}

/** How a message is sent: after what is queued, or instead of the running turn. */
export type SendMode = 'queue' | 'steer'

/**
 * What accepting a message does. It waits (`queued`) when the session is not idle or a turn runs;
 * a steered one stops the running turn, unless an abort is already on its way, and runs next.
 */
export function acceptMessage(
  mode: SendMode | undefined,
  session: { idle: boolean; turn?: { aborted: boolean } },
): { queued: boolean; stopTurn: boolean } {
  const queued = !session.idle || session.turn !== undefined
  return { queued, stopTurn: mode === 'steer' && session.turn !== undefined && !session.turn.aborted }
}

/** Why the session is idle again after a turn: nothing to say, a client's abort, or a steered message. */
export function idleReason(turn: { aborted: boolean; steered: boolean }): 'aborted' | 'steered' | undefined {
  if (!turn.aborted) return undefined
  return turn.steered ? 'steered' : 'aborted'
}
