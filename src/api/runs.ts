import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv, Bindings } from '../env'
import { ApiError, unwrap } from '../lib/errors'
import { newId, sha256Hex } from '../lib/ids'
import type { CreateRunInput, RunRequest } from '../runs/contracts'
import type { RunDO } from '../runs/durable-object'
import { DEFAULT_TRIGGER, taskFromDelivery } from '../runs/github'
import { freshTimestamp, signatureMatches } from '../runs/signing'
import { apiKeys } from '../settings'
import { misconfiguredResponse } from './complete-settings'
import { validationError } from './errors'
import { tenantOf } from './middleware'
import { commonErrors, json, router, security } from './openapi'
import { Run, RunAccepted, RunBody, RunParams } from './schemas'

const errors = commonErrors('run')

/** RPC types give up on the mutually referring objects; the surface used here is typed by hand. */
const runStub = (env: Bindings, id: string) =>
  env.RUNS.get(env.RUNS.idFromName(id)) as unknown as Pick<RunDO, 'start' | 'get' | 'cancel'>

/**
 * A run's id: random, or derived from the idempotency key (or GitHub's delivery id), so that
 * the same key twice reaches the same run object and starts one run only.
 */
async function runId(tenant: string, key: string | undefined): Promise<string> {
  if (!key) return newId('run')
  const digest = await sha256Hex(`${tenant}\n${key}`)
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
  return `run_${[...digest.slice(0, 20)].map((ch) => alphabet[parseInt(ch, 16)]).join('')}`
}

async function startRun(
  env: Bindings,
  tenant: string,
  request: RunRequest,
  key?: string,
  github?: CreateRunInput['github'],
) {
  const id = await runId(tenant, key ?? request.idempotencyKey)
  const run = await runStub(env, id).start({ id, tenant, request, github })
  return { id: run.id, sessionId: run.sessionId, status: run.status }
}

/** Chained, so that its type carries every route for the typed client (`AppType`). */
export const runs = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/',
      summary: 'Start a background run',
      description:
        'A session in background mode with one prompt and a policy that never waits on a human. The run ends `succeeded`, `failed`, `timed_out` or `cancelled`; then its sandbox is stopped and the run is POSTed to `callback.url`, signed.',
      security,
      request: { body: { ...json(RunBody, 'The run'), required: true } },
      responses: {
        202: json(RunAccepted, 'Started (or already started with this idempotency key)'),
        ...errors,
        ...misconfiguredResponse,
      },
    }),
    async (c) => c.json(await startRun(c.env, c.get('tenant'), c.req.valid('json')), 202),
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

/** The tenant that owns runs started by webhooks: WEBHOOK_TENANT_KEY's, else the first API key's. */
async function webhookTenant(env: Bindings): Promise<string> {
  const key = env.WEBHOOK_TENANT_KEY || apiKeys(env)[0]
  if (!key) throw new ApiError('unauthorized', 'no tenant is configured for webhook runs (WEBHOOK_TENANT_KEY)')
  return tenantOf(key)
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    throw new ApiError('invalid_json', 'the body is not valid JSON')
  }
}

async function verified(c: Context<AppEnv>, secret: string | undefined, header: string): Promise<string> {
  if (!secret) throw new ApiError('unauthorized', 'this webhook is not configured')
  const raw = await c.req.text()
  if (!(await signatureMatches(secret, raw, c.req.header(header))))
    throw new ApiError('unauthorized', `bad or missing ${header}`)
  return raw
}

export const webhooks = new OpenAPIHono<AppEnv>()

// The signatures cover the raw bytes, so these routes read and validate their bodies themselves;
// their documentation is registered apart from their handlers.
webhooks.openAPIRegistry.registerPath({
  method: 'post',
  path: '/runs',
  summary: 'Start a run from a signed webhook',
  description:
    'The body of `POST /v1/runs`, authenticated by `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with WEBHOOK_SECRET>` and `X-Timestamp` (Unix seconds, within five minutes).',
  request: { body: { ...json(RunBody, 'The run'), required: true } },
  responses: { 202: json(RunAccepted, 'Started (or already started with this idempotency key)'), ...errors },
})

webhooks.post('/runs', async (c) => {
  const raw = await verified(c, c.env.WEBHOOK_SECRET, 'x-signature-256')
  if (!freshTimestamp(c.req.header('x-timestamp')))
    throw new ApiError('unauthorized', 'X-Timestamp is missing or older than five minutes')
  const parsed = RunBody.safeParse(parseJson(raw))
  if (!parsed.success) throw validationError(parsed.error, 'json')
  return c.json(await startRun(c.env, await webhookTenant(c.env), parsed.data), 202)
})

webhooks.openAPIRegistry.registerPath({
  method: 'post',
  path: '/github',
  summary: 'GitHub webhook deliveries',
  description:
    'Checked with `X-Hub-Signature-256` (GITHUB_WEBHOOK_SECRET). An issue opened, or commented on, with the trigger phrase (GITHUB_TRIGGER, default `/opencode`) starts a run on that repository; its result is posted back as a comment. Other deliveries are acknowledged and ignored; a delivery id starts one run at most.',
  request: { body: { ...json(z.record(z.string(), z.unknown()), 'A GitHub delivery'), required: true } },
  responses: { 202: json(z.object({ ignored: z.boolean(), run: RunAccepted.optional() }), 'Acknowledged'), ...errors },
})

webhooks.post('/github', async (c) => {
  const raw = await verified(c, c.env.GITHUB_WEBHOOK_SECRET, 'x-hub-signature-256')
  const task = taskFromDelivery(
    c.req.header('x-github-event'),
    parseJson(raw) as never,
    c.env.GITHUB_TRIGGER || DEFAULT_TRIGGER,
  )
  if (!task) return c.json({ ignored: true }, 202)
  const delivery = c.req.header('x-github-delivery') ?? crypto.randomUUID()
  const run = await startRun(
    c.env,
    await webhookTenant(c.env),
    { prompt: task.prompt, repo: { url: task.repoUrl } },
    `github:${delivery}`,
    task.target,
  )
  return c.json({ ignored: false, run }, 202)
})
