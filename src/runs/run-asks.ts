import type { GitHubTarget, RunRequest, RunSignal, SlackTarget } from '../contracts'
import { sessionStub } from '../durable-objects'
import type { Bindings } from '../env'
import { fail, ok, type Outcome } from '../lib/errors'
import { askedHere, askerOf, askEvent, type AskedRun, type Asker, type AskPlace } from './approvals'
import { postCallback } from './callback-post'
import { askComment, githubComment } from './github'
import type { RunRow } from './run-row'
import { slackRules } from './slack'
import { postAsk } from './slack-api'

/**
 * The agent's requests of a run, put where the run started and answered only there (the rules are
 * ./approvals). The run object owns its row: these read it and say what to change.
 */

export type PermissionAsked = Extract<RunSignal, { kind: 'permission_asked' }>

function askedRun(row: RunRow): AskedRun {
  return {
    github: row.github === null ? null : (JSON.parse(row.github) as GitHubTarget),
    slack: row.slack === null ? null : (JSON.parse(row.slack) as SlackTarget),
    request: JSON.parse(row.request) as RunRequest,
  }
}

/**
 * A trusted author's `/approve` or `/deny` on the issue or pull request the run reports to, or an
 * approver's button in its Slack thread, answers the request the agent waits on (the caller then
 * forgets it). Anywhere else it answers nothing: the answer names a run, and a run is answered only
 * where it asked.
 */
export async function answerWhereAsked(
  env: Bindings,
  row: RunRow | undefined,
  over: boolean,
  tenant: string,
  where: AskPlace,
  reply: 'once' | 'reject',
): Promise<Outcome<{ permissionId: string }>> {
  if (row?.tenant !== tenant) return fail('not_found', 'no such run')
  if (!askedHere(askedRun(row), where)) return fail('not_found', 'no such run here')
  const permissionId = row.asked_permission
  if (over || permissionId === null) return fail('conflict', 'the run waits on no request')
  if (where.kind === 'slack' && where.permissionId !== permissionId) return fail('conflict', 'that request is no longer waiting')
  const answered = await sessionStub(env, row.session_id).answerPermission(tenant, permissionId, { reply })
  return answered.ok ? ok({ permissionId }) : answered
}

/** Who is to be asked for the agent's request: the people where the run started, or its callback's receiver; none when nobody would answer, or it was asked already. */
export function askerFor(env: Bindings, row: RunRow, permissionId: string): Asker | undefined {
  if (row.asked_permission === permissionId) return undefined
  return askerOf(askedRun(row), slackRules(env).approvers)
}

/** Puts the agent's request to `asker`: false when it could not be told. */
export async function tell(env: Bindings, row: RunRow, asker: Asker, sig: PermissionAsked): Promise<boolean> {
  const run = askedRun(row)
  if (asker === 'github') {
    const posted = await githubComment(env, run.github!, askComment(row.id, sig.permission, sig.patterns))
    return posted !== 'unreachable' && posted.status < 300
  }
  if (asker === 'slack') return postAsk(env, run.slack!, row.id, sig)
  const res = await postCallback(env, row.tenant, askEvent({ id: row.id, tenant: row.tenant, sessionId: row.session_id }, sig), run.request.callback!.url)
  return res !== 'refused' && res.ok
}
