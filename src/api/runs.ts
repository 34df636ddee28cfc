import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv, Bindings } from '../env'
import { ApiError, unwrap } from '../lib/errors'
import { guardStub, poolStub, runStub } from '../durable-objects'
import { approvalFromDelivery, githubRules, maxRunsPerHour, taskFromDelivery, type GitHubTask } from '../runs/github'
import { fixPrompt, fixRules, fixTaskFromDelivery, isFixEvent, openedReviewFromDelivery, reviewPrompt, reviewTaskFromDelivery, type FixEvent, type ReviewComment } from '../runs/github-followups'
import { readFailures } from '../runs/check-failures'
import { startTriggered, type ReportTo } from '../runs/trigger'
import { githubApi, hasGitHubCredentials } from '../github/credentials'
import { githubRepoOf } from '../github/repo-url'
import { isGranted, repoOwner } from '../github/tenant-repos'
import { log } from '../lib/log'
import { freshTimestamp, MAX_SKEW_SECONDS, signatureMatches, timestamped } from '../runs/signing'
import { apiKeys, readSettings } from '../config/settings'
import { pushedPools } from '../sandbox/repo-pools'
import { misconfiguredResponse } from './complete-settings'
import { validationError } from './errors'
import { tenantOf } from './middleware'
import { requireCatalogueModel, requireRuntime } from './catalogue'
import { checkModelKeys, gatewayBase, requirePricedModel } from './gateway'
import { requireSecretsKey } from './sessions'
import { commonErrors, json, router, security } from './openapi'
import {
  callbackUrlProblem,
  ErrorBody,
  localCallbacksAllowed,
  Run,
  RunAccepted,
  RunBody,
  RunParams,
  type CreateRunBody,
} from '../contracts'

const errors = commonErrors('run')
const tooManyRuns = json(ErrorBody, "The tenant started MAX_RUN_CREATES_PER_MINUTE runs in the last minute; nothing of this run was kept")

/**
 * Checks a run's body as its tenant's (model, keys, callback URL, the pull request's grant) and
 * starts it through the one trigger path; `key` (else the body's idempotencyKey) makes it one run.
 */
export async function startRun(
  env: Bindings,
  requestUrl: string,
  tenant: string,
  body: CreateRunBody,
  key?: string,
  reportTo?: ReportTo,
) {
  checkRunBody(env, requestUrl, tenant, body)
  await requireSecretsKey(env, { modelKeys: body.modelKeys, repoToken: body.repo?.token })
  return unwrap(await startTriggered(env, { tenant, body, key, reportTo, gatewayUrl: gatewayBase(env, requestUrl) }))
}

/** What a run's body must be for its tenant before anything of it is kept: a schedule's too, when it is made. */
export function checkRunBody(env: Bindings, requestUrl: string, tenant: string, body: CreateRunBody) {
  const { modelKeys, repo } = body
  checkModelKeys(env, modelKeys)
  requireCatalogueModel(env, requestUrl, body.model, Object.keys(modelKeys ?? {}))
  requirePricedModel(env, body.model, body.limits)
  requireRuntime(env, body.runtime, body)
  const problem = body.callback && callbackUrlProblem(body.callback.url, localCallbacksAllowed(env.ALLOW_LOCAL_CALLBACKS))
  if (problem) {
    throw new ApiError('validation_failed', `json.callback.url: ${problem}`, [{ path: 'json.callback.url', message: problem, code: 'custom' }])
  }
  if (body.output?.pullRequest) requirePullRequestable(env, tenant, body.repo, repo?.token !== undefined)
}

/**
 * A pull request needs a repository on GitHub, and a credential to write to it: the tenant's own
 * `repo.token`, or the deployment's on a repository granted to the tenant (GITHUB_TENANT_REPOS).
 * Refused here, before the run exists, so that nothing reaches the git host or GitHub's API.
 */
function requirePullRequestable(env: Bindings, tenant: string, repo: CreateRunBody['repo'], ownToken: boolean) {
  const target = repo && githubRepoOf(repo.url, env.GITHUB_API_URL)
  const problem = !repo
    ? 'a pull request needs a repo'
    : !target
      ? 'a pull request needs a repository on GitHub (github.com, or the host of GITHUB_API_URL)'
      : undefined
  if (problem || !target) throw new ApiError('validation_failed', `json.repo: ${problem}`, [{ path: 'json.repo', message: problem!, code: 'custom' }])
  if (ownToken) return
  if (!hasGitHubCredentials(env)) {
    const missing = ['GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY']
    throw new ApiError('misconfigured', `pull requests need ${missing[0]}, or the repository's own repo.token`, { missing })
  }
  if (!isGranted(readSettings(env).githubTenantRepos, tenant, target)) {
    throw new ApiError(
      'forbidden',
      `${target.owner}/${target.repo} is not granted to this tenant (GITHUB_TENANT_REPOS): bring the repository's own repo.token`,
    )
  }
}

/** Chained, so that its type carries every route for the typed client (`AppType`). */
export const runs = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/',
      summary: 'Start a background run',
      description:
        'A session in background mode with one prompt and a policy that never waits on a human. The run ends `succeeded`, `failed`, `timed_out` or `cancelled`; then its sandbox is stopped and the run is POSTed to `callback.url`, signed. A run whose session cannot be created (the tenant\'s limits, a broken sandbox) has ended `failed` with that `error` already, gets no callback (`callback.state` `skipped`), and its idempotency key keeps naming it. Past MAX_RUN_CREATES_PER_MINUTE runs of the tenant in the last minute, 429 and nothing is kept. An ended run is deleted ENDED_RETENTION_SECONDS after it ended and its callback settled.',
      security,
      request: { body: { ...json(RunBody, 'The run'), required: true } },
      responses: {
        202: json(RunAccepted, 'Started (or already started with this idempotency key)'),
        ...errors,
        403: json(
          ErrorBody,
          "`output.pullRequest` on a repository the deployment's GitHub credential is not granted for to this tenant (GITHUB_TENANT_REPOS), without the repository's own `repo.token`; or a session token",
        ),
        429: tooManyRuns,
        ...misconfiguredResponse,
      },
    }),
    async (c) => c.json(await startRun(c.env, c.req.url, c.get('tenant'), c.req.valid('json')), 202),
  )

  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      summary: 'Get a run',
      security,
      request: { params: RunParams },
      responses: { 200: json(Run, 'The run'), ...errors },
    }),
    async (c) => c.json(unwrap(await runStub(c.env, c.req.valid('param').id).get(c.get('tenant'))), 200),
  )

  .openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      summary: 'Cancel a run',
      security,
      request: { params: RunParams },
      responses: { 200: json(Run, 'The cancelled run'), ...errors },
    }),
    async (c) => c.json(unwrap(await runStub(c.env, c.req.valid('param').id).cancel(c.get('tenant'))), 200),
  )

/** The tenant that owns runs of POST /v1/webhooks/runs: WEBHOOK_TENANT_KEY's, else the first API key's. */
async function webhookTenant(env: Bindings): Promise<string> {
  const key = env.WEBHOOK_TENANT_KEY || apiKeys(env)[0]
  if (!key) throw new ApiError('unauthorized', 'no tenant is configured for webhook runs (WEBHOOK_TENANT_KEY)')
  return tenantOf(key)
}

export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    throw new ApiError('invalid_json', 'the body is not valid JSON')
  }
}

/** The raw body, when `header` carries its signature under `secret` over what `signed` makes of it. */
async function verified(
  c: Context<AppEnv>,
  secret: string | undefined,
  header: string,
  signed: (raw: string) => string = (raw) => raw,
): Promise<string> {
  if (!secret) throw new ApiError('unauthorized', 'this webhook is not configured')
  const raw = await c.req.text()
  if (!(await signatureMatches(secret, signed(raw), c.req.header(header))))
    throw new ApiError('unauthorized', `bad or missing ${header}`)
  return raw
}

const REPLAY_SCOPE = 'webhook-signatures'
const HOUR_MS = 60 * 60 * 1000
/** Fix attempts are counted per pull request for as long as one stays open, in practice. */
const FIX_ATTEMPTS_WINDOW_MS = 365 * 24 * HOUR_MS

export const webhooks = new OpenAPIHono<AppEnv>()

// The signatures cover the raw bytes, so these routes read and validate their bodies themselves;
// their documentation is registered apart from their handlers.
webhooks.openAPIRegistry.registerPath({
  method: 'post',
  path: '/runs',
  summary: 'Start a run from a signed webhook',
  description:
    'The body of `POST /v1/runs`, for the tenant of WEBHOOK_TENANT_KEY (default: the first API key), authenticated by `X-Timestamp` (Unix seconds, within five minutes) and `X-Signature-256: sha256=<hex HMAC-SHA256 of "<X-Timestamp>.<raw body>" with WEBHOOK_SECRET>`. A signature is accepted once.',
  request: { body: { ...json(RunBody, 'The run'), required: true } },
  responses: { 202: json(RunAccepted, 'Started (or already started with this idempotency key)'), ...errors, 429: tooManyRuns },
})

webhooks.post('/runs', async (c) => {
  const timestamp = c.req.header('x-timestamp')
  if (!freshTimestamp(timestamp)) throw new ApiError('unauthorized', 'X-Timestamp is missing or older than five minutes')
  const raw = await verified(c, c.env.WEBHOOK_SECRET, 'x-signature-256', (body) => timestamped(timestamp!, body))
  // Stale timestamps are refused above, so a signature needs remembering only while it is fresh.
  const signature = c.req.header('x-signature-256')!.trim().toLowerCase()
  if (!(await guardStub(c.env, REPLAY_SCOPE).firstSighting(signature, 2 * MAX_SKEW_SECONDS * 1000)))
    throw new ApiError('unauthorized', 'this signature was used before; sign each request anew')
  const parsed = RunBody.safeParse(parseJson(raw))
  if (!parsed.success) throw validationError(parsed.error, 'json')
  return c.json(await startRun(c.env, c.req.url, await webhookTenant(c.env), parsed.data), 202)
})

webhooks.openAPIRegistry.registerPath({
  method: 'post',
  path: '/github',
  summary: 'GitHub webhook deliveries',
  description:
    'Checked with `X-Hub-Signature-256` (GITHUB_WEBHOOK_SECRET). An issue opened, or a comment created, with the trigger phrase (GITHUB_TRIGGER, default `/opencode`) by an author whose `author_association` is in GITHUB_ALLOWED_ASSOCIATIONS (default OWNER, MEMBER, COLLABORATOR), and not by a bot, starts a run on that repository, owned by the tenant GITHUB_TENANT_REPOS names for it (a repository of no tenant starts nothing and is ignored, with the reason). A `push` to the repository and ref of a repository warm pool (WARM_POOLS) refreshes the sandboxes of that pool in the background (`refreshing`: how many pools). A comment saying so is posted at once and edited with the result: a pull request from a new branch (GITHUB_OUTPUT=pull_request, the default), or for a comment on a pull request, a commit on its branch (a branch in a fork gets the diff instead); with GITHUB_OUTPUT=comment, the diff in the comment. One issue or comment starts one run, whatever its delivery id; GITHUB_MAX_RUNS_PER_HOUR (default 10) runs per repository per hour, then 429. A review comment by a trusted author on a pull request the service opened (its branch `opencode/…`, or labelled `opencode`) starts a run on its branch that answers in the review thread; with GITHUB_FIX_CHECKS=1 a failed `check_run`, `check_suite` or `workflow_run` on such a pull request starts one fix run per head commit (the failing part of what it reported, read through the API, in the prompt), at most GITHUB_FIX_ATTEMPTS (default 2) per pull request. A pull request opened by a trusted author with the label `opencode` or the trigger phrase in its title or description (not one the service opened) gets a review: a run on its branch that pushes nothing and answers in a comment. When the agent of a GitHub-started run asks leave, the run asks on its issue or pull request; an `/approve <run id>` or `/deny <run id>` there by a trusted author answers it (`answered`). Other deliveries are acknowledged and ignored, with the reason.',
  request: { body: { ...json(z.record(z.string(), z.unknown()), 'A GitHub delivery'), required: true } },
  responses: {
    202: json(
      z.object({
        ignored: z.boolean(),
        reason: z.string().optional(),
        run: RunAccepted.optional(),
        refreshing: z.number().int().optional(),
        answered: z.object({ runId: z.string(), permissionId: z.string(), reply: z.enum(['once', 'reject']) }).optional(),
      }),
      'Acknowledged',
    ),
    ...errors,
    429: json(ErrorBody, 'Too many runs for this repository in the last hour'),
  },
})

webhooks.post('/github', async (c) => {
  const raw = await verified(c, c.env.GITHUB_WEBHOOK_SECRET, 'x-hub-signature-256')
  const { warmPools } = readSettings(c.env)
  // Without repository warm pools a push is any other event that starts nothing.
  if (c.req.header('x-github-event') === 'push' && warmPools.length > 0) {
    const pushed = pushedPools(warmPools, parseJson(raw))
    if ('ignored' in pushed) return c.json({ ignored: true, reason: pushed.ignored }, 202)
    await poolStub(c.env).pushed(pushed.pools, pushed.commit)
    return c.json({ ignored: false, refreshing: pushed.pools.length }, 202)
  }
  const event = c.req.header('x-github-event')
  const payload = parseJson(raw)
  const approval = approvalFromDelivery(event, payload, githubRules(c.env))
  if (approval) return c.json(await answerAsk(c.env, approval), 202)
  const decided =
    event === 'pull_request_review_comment'
      ? await reviewTask(c.env, payload)
      : event === 'pull_request'
        ? await withOwnerOf(c.env, openedReviewFromDelivery(payload, githubRules(c.env)))
      : isFixEvent(event)
        ? await fixTask(c.env, event, payload)
        : await withOwnerOf(c.env, taskFromDelivery(event, payload, githubRules(c.env)))
  if ('ignored' in decided) return c.json({ ignored: true, reason: decided.ignored }, 202)
  const { task, tenant } = decided
  const repository = `github:${task.target.owner}/${task.target.repo}`
  if (!(await guardStub(c.env, repository).admit(task.key, maxRunsPerHour(c.env), HOUR_MS))) {
    throw new ApiError('too_many_requests', `${task.target.owner}/${task.target.repo} has started as many runs as it may this hour`)
  }
  const run = await startRun(
    c.env,
    c.req.url,
    tenant,
    { prompt: await task.prompt(), repo: { url: task.repoUrl } },
    `github:${task.key}`,
    { kind: 'github', target: task.target },
  )
  return c.json({ ignored: false, run }, 202)
})

/** `/approve <run>` or `/deny <run>`: answered for the repository's tenant, on the run's own issue or pull request only. */
async function answerAsk(env: Bindings, decided: NonNullable<ReturnType<typeof approvalFromDelivery>>) {
  if ('ignored' in decided) return { ignored: true, reason: decided.ignored }
  const { runId, reply, target } = decided.approval
  const owner = repoOwner(readSettings(env).githubTenantRepos, target, await Promise.all(apiKeys(env).map(tenantOf)))
  if ('ignored' in owner) return { ignored: true, reason: owner.ignored }
  const answered = await runStub(env, runId).answerAsk(owner.tenant, { kind: 'github', ...target }, reply)
  if (!answered.ok) return { ignored: true, reason: answered.error.message }
  return { ignored: false, answered: { runId, permissionId: answered.value.permissionId, reply } }
}

/** A task a delivery asks for, of the repository's tenant; its prompt is written (and what it needs fetched) only once the run is admitted. */
type PendingTask = Omit<GitHubTask, 'prompt'> & { prompt: () => Promise<string> }
type Admitted = { task: PendingTask; tenant: string } | { ignored: string }

/**
 * The repository's tenant, never a default one: a run on it may use the deployment's credential,
 * and so may the reads its prompt needs.
 */
async function withOwner(env: Bindings, task: PendingTask): Promise<Admitted> {
  const owner = repoOwner(readSettings(env).githubTenantRepos, task.target, await Promise.all(apiKeys(env).map(tenantOf)))
  if ('ignored' in owner) {
    log('info', 'github delivery ignored', { repo: `${task.target.owner}/${task.target.repo}`, reason: owner.ignored })
    return { ignored: owner.ignored }
  }
  return { task, tenant: owner.tenant }
}

/** An issue, a comment, or a pull request asking for a review: its prompt is written already. */
async function withOwnerOf(env: Bindings, decided: { task: GitHubTask } | { ignored: string }): Promise<Admitted> {
  if ('ignored' in decided) return decided
  const { prompt, ...task } = decided.task
  return withOwner(env, { ...task, prompt: async () => prompt })
}

/** A review comment on a pull request the service opened: the thread it is in, read through the API, goes in the prompt. */
async function reviewTask(env: Bindings, payload: unknown): Promise<Admitted> {
  const rules = githubRules(env)
  const decided = reviewTaskFromDelivery(payload, rules)
  if ('ignored' in decided) return decided
  const { task } = decided
  return withOwner(env, {
    ...task,
    prompt: async () => {
      const { owner, repo, issue, reviewThread } = task.target
      const thread =
        reviewThread === task.comment.id
          ? []
          : await (await githubApi(env, task.target))
              .request<ReviewComment[]>('GET', `/repos/${owner}/${repo}/pulls/${issue}/comments?per_page=100`)
              .then((all) => all.filter((c) => c.id === reviewThread || c.in_reply_to_id === reviewThread))
      return reviewPrompt(task, thread, rules)
    },
  })
}

/**
 * A failed check (a check run, a check suite, a workflow run) on a pull request the service
 * opened, when GITHUB_FIX_CHECKS=1: one fix run per head commit, at most GITHUB_FIX_ATTEMPTS per
 * pull request, ever; what failed, read through the API, goes in the prompt.
 */
async function fixTask(env: Bindings, event: FixEvent, payload: unknown): Promise<Admitted> {
  const rules = fixRules(env)
  if (!rules.enabled) return { ignored: 'fixing failed checks is off (GITHUB_FIX_CHECKS)' }
  const decided = fixTaskFromDelivery(event, payload)
  if ('ignored' in decided) return decided
  const { task } = decided
  const owned = await withOwner(env, { ...task, prompt: async () => fixPrompt(task, await readFailures(env, task)) })
  if ('ignored' in owned) return owned
  const pull = `github-fix:${task.target.owner}/${task.target.repo}#${task.target.issue}`
  // The same commit asks again (another check of it failed): the run it already has.
  if (!(await guardStub(env, pull).admit(task.headSha, rules.attempts, FIX_ATTEMPTS_WINDOW_MS))) {
    return { ignored: `pull request #${task.target.issue} had its ${rules.attempts} fix attempts (GITHUB_FIX_ATTEMPTS)` }
  }
  return owned
}
