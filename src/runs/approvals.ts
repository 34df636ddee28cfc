import type { GitHubTarget, RunPermissionAsked, RunRequest, SlackTarget } from '../contracts'

/**
 * Who answers a run's asks: the people where it started (its GitHub issue or pull request, its
 * Slack thread when the team names approvers), else its callback's receiver. A run with none of
 * them turns its asks into denials: nobody would answer.
 */
export type Asker = 'github' | 'slack' | 'callback'

export type AskedRun = { github: GitHubTarget | null; slack: SlackTarget | null; request: Pick<RunRequest, 'callback'> }

/** `slackApprovers`: SLACK_APPROVERS, team id → the users who may answer there. */
export function askerOf(run: AskedRun, slackApprovers: Record<string, string[]>): Asker | undefined {
  if (run.github) return 'github'
  if (run.slack) return run.slack.team !== undefined && (slackApprovers[run.slack.team]?.length ?? 0) > 0 ? 'slack' : undefined
  return run.request.callback ? 'callback' : undefined
}

/** Where an answer came from: the issue or pull request of an `/approve`, or the thread of a button and the request it was shown for. */
export type AskPlace =
  | { kind: 'github'; owner: string; repo: string; issue: number }
  | { kind: 'slack'; channel: string; threadTs: string; permissionId: string }

/** Whether an answer comes from where the run asks: a run is answered only there. */
export function askedHere(run: Pick<AskedRun, 'github' | 'slack'>, where: AskPlace): boolean {
  if (where.kind === 'github') {
    const asked = run.github
    const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()
    return asked !== null && same(asked.owner, where.owner) && same(asked.repo, where.repo) && asked.issue === where.issue
  }
  return run.slack !== null && run.slack.channel === where.channel && run.slack.threadTs === where.threadTs
}

/** What a run with a callback POSTs there when its agent asks; the tenant answers through the session's permission route. */
export function askEvent(run: { id: string; tenant: string; sessionId: string }, ask: { permissionId: string; permission: string; patterns: string[] }): RunPermissionAsked {
  return {
    event: 'permission.asked',
    runId: run.id,
    tenant: run.tenant,
    sessionId: run.sessionId,
    permission: { id: ask.permissionId, permission: ask.permission, patterns: ask.patterns },
    answer: { method: 'POST', path: `/v1/sessions/${run.sessionId}/permissions/${ask.permissionId}` },
  }
}
