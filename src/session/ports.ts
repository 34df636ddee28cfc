import type { PermissionRequest, QuestionRequest } from '@opencode-ai/sdk/v2/client'
import type { AttachmentMime, OutputSchema, PublicEvent, SandboxState, SandboxStatusExtra, SessionStatus, StepOf } from '../contracts'

/**
 * What the session's parts need of each other and of the world, as narrow interfaces: the parts
 * are built once by the Durable Object and can be handed fakes in tests.
 */

/** Where a public event goes: the session's log (and so every client), its usage meter, its run. */
export interface EventSink {
  emit(ev: PublicEvent): void
}

/** What the session says about itself to clients, its tenant's index, its run and its alarm. */
export interface SessionSignals extends EventSink {
  setStatus(status: SessionStatus, reason?: string): void
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
