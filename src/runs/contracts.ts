import type { Usage } from '../events/types'
import type { Limits } from '../gateway/budget'
import type { RepoSpec } from '../sandbox/provision'

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out'

export type RunRequest = {
  prompt: string
  repo?: RepoSpec
  model?: string
  permissions?: Record<string, unknown>
  callback?: { url: string }
  idempotencyKey?: string
  timeoutSeconds?: number
  limits?: Limits
}

/** Where a GitHub-started run reports back. */
export type GitHubTarget = { owner: string; repo: string; issue: number }

export type CreateRunInput = {
  id: string
  tenant: string
  request: RunRequest
  github?: GitHubTarget
  /** where the run's sandbox reaches the model gateway */
  gatewayUrl: string
  /** the run's own model keys: handed to its session, never stored with the run */
  modelKeys?: Record<string, string>
}

/** An attempt's outcome: the status answered, or, coarsely, why there was none. */
export type CallbackAttempt = { at: string; status?: number; error?: 'unreachable' | 'refused' }

export type RunView = {
  id: string
  sessionId: string
  status: RunStatus
  createdAt: string
  updatedAt: string
  result?: { text: string; diff?: string; usage: Usage }
  error?: { code: string; message: string }
  callback?: { url: string; state: 'pending' | 'delivered' | 'failed'; attempts: CallbackAttempt[] }
}

/** What a background session tells its run. */
export type RunSignal =
  | { kind: 'turn_done'; text: string }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'session_failed'; code: string; message: string }
