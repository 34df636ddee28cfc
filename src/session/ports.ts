import type { Event as AgentEvent, PermissionRequest, QuestionRequest } from '@opencode-ai/sdk/v2/client'
import type { TurnError } from './turns/rules'
import type { AttachmentMime, OutputSchema, PublicEvent, Reply, SandboxState, SandboxStatusExtra, SessionStatus, StepOf } from '../contracts'

/**
 * What the session's parts need of each other and of the world, as narrow interfaces: the parts
 * are built once by the Durable Object and can be handed fakes in tests.
 */

/** Where a public event goes: the session's log (and so every client), its usage meter, its run. */
export interface EventSink {
  emit(ev: PublicEvent): void
}

/** What happened to the session that may move its status; the parts report these, never a status. */
export type StatusFact =
  | { kind: 'opened' }
  | { kind: 'sandbox_starting' }
  /** a sandbox's agent can take a message */
  | { kind: 'agent_ready' }
  /** after a gap or a lost sandbox, no turn runs */
  | { kind: 'no_turn' }
  | { kind: 'turn_started' }
  | { kind: 'turn_ended'; reason?: 'aborted' | 'steered' }
  | { kind: 'over'; status: 'ended' | 'failed'; reason: string }

/** Where the parts report what moves the session's status (./status decides and writes it). */
export interface StatusPort {
  readonly current: SessionStatus
  report(fact: StatusFact): void
}

/** What the session says about itself to clients, its tenant's index, its run and its alarm. */
export interface SessionSignals extends EventSink {
  sandboxState<S extends SandboxState>(state: S, step: StepOf<S>, extra?: SandboxStatusExtra): void
  /** the session was active: its idle deadline moves on */
  touch(): void
  scheduleWake(): Promise<void>
  syncIndex(): Promise<void>
}

export type PermissionReply = 'once' | 'always' | 'reject'

/** A human's answer to one request of the agent, keyed by kind: both kinds take one path. */
export type HumanAnswer =
  | { kind: 'permission'; id: string; reply: PermissionReply; message?: string }
  | { kind: 'question'; id: string; answers: string[][] }
  | { kind: 'question'; id: string; reject: true }

/** A message's file in the sandbox: the agent is given its path, and opencode reads it there. */
export type PlacedFile = { filename: string; mime: AttachmentMime; path: string }

export type PromptInput = {
  messageId: string
  text: string
  model?: string
  agent?: string
  system?: string
  files?: PlacedFile[]
  /** the answer must be an object matching this JSON Schema (opencode's structured output) */
  outputSchema?: OutputSchema
}

/**
 * The agent in the sandbox, as the session's turns and human requests use it. Each call answers
 * opencode's HTTP status (404: it no longer knows what was asked about) or throws when opencode
 * cannot be reached.
 */
export interface AgentPort {
  prompt(input: PromptInput): Promise<number>
  abort(): Promise<number>
  answer(answer: HumanAnswer): Promise<number>
  /** what opencode is waiting on a human for, or nothing when it would not say */
  openRequests(): Promise<{ permission: PermissionRequest[]; question: QuestionRequest[] } | undefined>
  rename(title: string): Promise<number>
}

/** Where the session's agent is reached, while it has one. */
export interface AgentSource {
  agent(): AgentPort | undefined
}

/** The agent's raw events as the session follows them: a request the stream never showed is handled as if it had. */
export interface AgentEventPort {
  /** whether an agent event is about this session's agent (not another one in the sandbox) */
  concerns(ev: AgentEvent): boolean
  onAgentEvent(ev: AgentEvent): void
}

/** What following the agent's events needs to hear of turns. */
export interface TurnWatcher {
  /** a message goes to the agent: its echo must be known as this message */
  prompting(messageId: string): void
  /** a turn was cut off: whatever it left streaming is closed with this error */
  interruptOpen(error: TurnError): void
}

/** Who hears that a turn ended: the usage meter, the checkpoints, the run. */
export interface TurnEnds {
  ended(messageId: string, reply: Reply, structured?: unknown): void
}

/** Whether the session is at work: a turn runs, messages wait, its sandbox is worked on, or a fork copies it. */
export interface Activity {
  readonly busy: boolean
}
