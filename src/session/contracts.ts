import type { SessionStatus, Usage } from '../events/types'
import type { Limits } from '../gateway/budget'
import type { RepoSpec } from '../sandbox/provision'

export type SkillSpec = { name: string; description: string; instructions: string; files?: Record<string, string> }

export type McpSpec =
  | { type: 'remote'; url: string; headers?: Record<string, string> }
  | { type: 'local'; command: string[]; environment?: Record<string, string> }

/** What the API hands a session when creating it; the session keeps it as its spec. Secrets are kept apart. */
export type SessionSpec = {
  repo?: RepoSpec
  model?: string
  agent?: string
  permissions?: Record<string, unknown>
  setup?: string
  instructions?: string
  skills?: SkillSpec[]
  mcp?: Record<string, McpSpec>
  files?: { path: string; content: string }[]
  env?: Record<string, string>
  /** set for the session of a background run: nobody is there to answer, and the run is told how it went */
  runId?: string
  /** how long a permission request or question may wait for an answer before it is rejected */
  pendingTimeoutSeconds?: number
  /** spend caps the model gateway holds the session to */
  limits?: Limits
  /** where the session's sandbox reaches the model gateway (`<public URL>/v1/gateway`) */
  gatewayUrl?: string
}

export type CreateSessionInput = {
  id: string
  tenant: string
  title?: string
  prompt?: string
  spec: SessionSpec
  secrets?: Record<string, string>
  /** the session's own model provider keys, used by the gateway for it alone */
  modelKeys?: Record<string, string>
  /** the private repository's token, kept sealed with the secrets */
  repoToken?: string
}

export type SessionView = {
  id: string
  status: SessionStatus
  title: string | null
  repo: RepoSpec | null
  model: string | null
  agent: string | null
  createdAt: string
  updatedAt: string
  expiresAt: string
  lastEventId: number
  queued: number
  usage: Usage
  pending: { permissions: unknown[]; questions: unknown[] }
  error?: { code: string; message: string }
}

/** The summary a tenant's index keeps for listing. */
export type SessionSummary = Pick<SessionView, 'id' | 'status' | 'title' | 'createdAt' | 'updatedAt'>

export type SendMessageInput = { text: string; idempotencyKey?: string; model?: string; agent?: string }

export type Reply = { messageId: string | null; text: string; usage: Usage }

export type SendMessageResult = { messageId: string; queued: boolean; duplicate: boolean; reply?: Reply }

export type ConversationMessage = {
  id: string
  role: 'user' | 'assistant'
  text: string
  parts: unknown[]
  createdAt: string
}
