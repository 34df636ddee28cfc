import type { CallbackAttempt, RunRequest, RunStatus, RunView } from '../contracts'

/** A run's row as its object keeps it (./schema). */
export type RunRow = {
  id: string
  tenant: string
  session_id: string
  status: RunStatus
  request: string
  github: string | null
  result: string | null
  error: string | null
  reply: string | null
  /** the agent's structured answer as JSON, once it matched the run's outputSchema */
  structured: string | null
  created_at: string
  updated_at: string
  deadline: number
  settle_at: number | null
  /** `skipped`: the run ended before its session existed, as the answer that started it said; nothing is sent */
  callback_state: 'none' | 'pending' | 'delivered' | 'failed' | 'skipped'
  callback_attempts: string
  next_callback_at: number | null
  /** a PullRequestPlan as JSON: what the run does on GitHub with its changes */
  pr: string | null
  comment_id: number | null
  /** the tenant's own token for the pull request, sealed under SECRETS_KEY; erased when the run ends */
  repo_token: string | null
  /** the schedule whose firing started the run */
  schedule_id: string | null
  /** a SlackTarget as JSON: the thread the run reports to */
  slack: string | null
  /** the run's progress message in that thread */
  slack_ts: string | null
  /** the permission request the agent waits on, asked on the run's GitHub issue or pull request */
  asked_permission: string | null
  /** the run ended but its session is kept until then, for a reply in its Slack thread (./thread-turn) */
  session_kept_until: number | null
}

/** The run as its API shows it. */
export function runViewOf(row: RunRow): RunView {
  const request = JSON.parse(row.request) as RunRequest
  return {
    id: row.id,
    tenant: row.tenant,
    sessionId: row.session_id,
    status: row.status,
    ...(row.schedule_id !== null && { scheduleId: row.schedule_id }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.result && { result: JSON.parse(row.result) as RunView['result'] }),
    ...(row.error && row.status !== 'succeeded' && { error: JSON.parse(row.error) as RunView['error'] }),
    ...(request.callback && {
      callback: {
        url: request.callback.url,
        state: row.callback_state === 'none' ? 'pending' : row.callback_state,
        attempts: JSON.parse(row.callback_attempts) as CallbackAttempt[],
      },
    }),
  }
}
