import type { PermissionRequest, QuestionRequest } from '@opencode-ai/sdk/v2/client'
import { sandboxStatus, type PublicEvent, type SandboxState, type SandboxStatusExtra, type SessionStatus, type StepOf } from '../../src/contracts'
import type { AgentPort, HumanAnswer, PromptInput, SessionSignals, StatusFact, StatusPort, TurnEnds, TurnWatcher } from '../../src/session/ports'
import { Turns, type TurnParts } from '../../src/session/turns/turns'
import { statusAfter } from '../../src/session/status'

/**
 * Fakes for the session's ports, so its turns and human requests can be driven inside workerd
 * on a real session's SQLite: what they say is recorded, and the agent answers as told.
 */

export class RecordedSignals implements SessionSignals, StatusPort {
  readonly events: PublicEvent[] = []
  status: SessionStatus = 'idle'
  touches = 0

  emit(ev: PublicEvent) {
    this.events.push(ev)
  }
  get current(): SessionStatus {
    return this.status
  }
  /** the session's own rule of which status a fact leads to */
  report(fact: StatusFact) {
    const next = statusAfter(this.status, fact)
    if (!next) return
    this.status = next.status
    this.events.push({ type: 'session.status', data: next })
  }
  sandboxState<S extends SandboxState>(state: S, step: StepOf<S>, extra?: SandboxStatusExtra) {
    this.events.push(sandboxStatus(state, step, extra))
  }
  touch() {
    this.touches++
  }
  async scheduleWake() {}
  async syncIndex() {}

  /** The data of every event of one type, in order. */
  of(type: PublicEvent['type']): unknown[] {
    return this.events.filter((e) => e.type === type).map((e) => e.data)
  }
}

/** An agent that records what it was asked and answers each call with the status set for it. */
export class ScriptedAgent implements AgentPort {
  readonly prompts: PromptInput[] = []
  readonly answers: HumanAnswer[] = []
  aborts = 0
  promptStatus = 204
  abortStatus = 200
  answerStatus = 200
  open: { permission: PermissionRequest[]; question: QuestionRequest[] } = { permission: [], question: [] }

  async prompt(input: PromptInput) {
    this.prompts.push(input)
    return this.promptStatus
  }
  async abort() {
    this.aborts++
    return this.abortStatus
  }
  async answer(answer: HumanAnswer) {
    this.answers.push(answer)
    return this.answerStatus
  }
  async openRequests() {
    return this.open
  }
  async rename() {
    return 200
  }
}

export function permissionRequest(id: string, sessionID = 'ses_agent'): PermissionRequest {
  return { id, sessionID, permission: 'bash', patterns: ['ls'], metadata: {}, always: [] }
}

/** Turns joined as a session joins them, to this agent, with no fork copying. */
export function joinedTurns(
  parts: TurnParts,
  agent: AgentPort,
  events: TurnWatcher = { prompting: () => {}, interruptOpen: () => {} },
  ends: TurnEnds = { ended: () => {} },
): Turns {
  const turns = new Turns(parts)
  turns.neighbours.join({ agents: { agent: () => agent }, events, hold: { held: false }, ends })
  return turns
}
