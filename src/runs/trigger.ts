import type { CreateRunBody, CreateRunInput, GitHubTarget, RunRequest, RunView, SlackTarget } from '../contracts'
import { runStub, tenantStub } from '../durable-objects'
import type { Bindings } from '../env'
import { fail, ok, type Outcome } from '../lib/errors'
import { newId, sha256Hex } from '../lib/ids'
import { readSettings } from '../config/settings'

/**
 * One way every trigger starts a run: `POST /v1/runs`, the signed webhook, a GitHub delivery and
 * a schedule's firing each turn what they trust into a `Trigger` (whose run it is, what it asks,
 * the key that makes it one run, where it reports back) and start it here. A new source (Slack,
 * Linear) is one more `ReportTo` and the adapter that makes its Trigger.
 */

/** Where a run reports back besides the callback its body may name. */
export type ReportTo =
  | { kind: 'github'; target: GitHubTarget }
  | { kind: 'slack'; target: SlackTarget }
  | { kind: 'schedule'; scheduleId: string }

export type Trigger = {
  tenant: string
  /** the body of POST /v1/runs, its model keys and repository token included; checked by whoever trusted it */
  body: CreateRunBody
  /** names the one run this event may start: the same key (per tenant) always reaches the same run */
  key?: string
  reportTo?: ReportTo
  /** where the run's sandbox reaches the model gateway */
  gatewayUrl: string
}

export type StartedRun = Pick<RunView, 'id' | 'sessionId' | 'status' | 'error'>

/**
 * A run's id: random, or derived from its key, so that the same key twice reaches the same run
 * object and starts one run only.
 */
export async function runIdFor(tenant: string, key: string | undefined): Promise<string> {
  if (!key) return newId('run')
  const digest = await sha256Hex(`${tenant}\n${key}`)
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
  return `run_${[...digest.slice(0, 20)].map((ch) => alphabet[parseInt(ch, 16)]).join('')}`
}

/** The run's input: the request kept in plain, the model keys and token apart (its session seals them). */
function runInput(id: string, trigger: Trigger): CreateRunInput {
  const { modelKeys, repo, ...rest } = trigger.body
  const request: RunRequest = { ...rest, ...(repo && { repo: { url: repo.url, ...(repo.ref && { ref: repo.ref }) } }) }
  const report = trigger.reportTo
  return {
    id,
    tenant: trigger.tenant,
    request,
    gatewayUrl: trigger.gatewayUrl,
    modelKeys,
    ...(repo?.token && { repoToken: repo.token }),
    ...(report?.kind === 'github' && { github: report.target }),
    ...(report?.kind === 'slack' && { slack: report.target }),
    ...(report?.kind === 'schedule' && { scheduleId: report.scheduleId }),
  }
}

/**
 * Counts the run against its tenant's run rate (refused before the run has an object, so a refusal
 * leaves nothing behind) and starts it; `id` when the caller needed it before (runIdFor).
 */
export async function startTriggered(env: Bindings, trigger: Trigger, id?: string): Promise<Outcome<StartedRun>> {
  const runId = id ?? (await runIdFor(trigger.tenant, trigger.key ?? trigger.body.idempotencyKey))
  const admission = await tenantStub(env, trigger.tenant).admitRun(runId, readSettings(env).runCreatesPerMinute)
  if (!admission.ok) return fail('too_many_requests', admission.reason)
  const started = await runStub(env, runId).start(runInput(runId, trigger))
  if (!started.ok) return started
  return ok(acceptedRun(started.value))
}

/** What the answer that started (or continued) a run says of it. */
export const acceptedRun = (run: RunView): StartedRun => ({ id: run.id, sessionId: run.sessionId, status: run.status, ...(run.error && { error: run.error }) })
