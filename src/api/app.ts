import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi'
import { requestId } from 'hono/request-id'
import { poolStub } from '../durable-objects'
import type { AppEnv } from '../env'
import { requestIdFrom } from '../lib/log'
import { recentReadiness } from '../config/readiness'
import { readSettings } from '../config/settings'
import { requireCompleteSettings } from './complete-settings'
import { notFound, onError } from './errors'
import { except } from 'hono/combine'
import { catalogue } from './catalogue'
import { allowOrigins } from './cors'
import { gateway } from './gateway'
import { limitBody, limitMessageBody, requireAllowedHost, requireApiKey, requireJson } from './middleware'
import { json } from './openapi'
import { runs, webhooks } from './runs'
import { schedules } from './schedules'
import { slackWebhook } from './slack'
import { sessionWorkspace } from './session-workspace'
import { sessionCheckpoints } from './session-checkpoints'
import { sessions } from './sessions'
import { sessionTerminal } from './session-terminal'
import { sessionOpencode } from './session-opencode'
import { sessionPreviews } from './session-previews'
import { previews } from './previews'
import { PREVIEW_PREFIX } from '../contracts'
import { usage } from './usage'
import { tenant } from './tenant'
import { snapshots } from './snapshots'

export const app = new OpenAPIHono<AppEnv>()

app.onError(onError)
app.notFound(notFound)
app.use('*', requireAllowedHost)
// Cloudflare's ray id, so a log line leads to the request in Cloudflare's own logs; a client's
// X-Request-Id is not taken. Error answers carry the id back (./errors).
app.use('*', requestId({ headerName: '', generator: (c) => requestIdFrom(c.req.header('cf-ray')) }))

/** Set once this isolate has asked the warm pool to fill, so it asks once, not on every request. */
let poolPrimed = false
app.use('*', async (c, next) => {
  if (!poolPrimed && (readSettings(c.env).warmPoolSize > 0 || readSettings(c.env).warmPools.length > 0)) {
    poolPrimed = true
    c.executionCtx.waitUntil(poolStub(c.env).ensure(new URL(c.req.url).origin))
  }
  await next()
})

const Health = z
  .object({
    ok: z.boolean(),
    warmPool: z
      .object({
        target: z.number(),
        ready: z.number(),
        refillPausedUntil: z.string().optional().openapi({ description: 'refills failed three times in five minutes: paused until then' }),
      })
      .optional(),
    repoPools: z
      .object({ target: z.number(), ready: z.number() })
      .optional()
      .openapi({ description: 'the repository warm pools (WARM_POOLS): sandboxes wanted in all, and ready' }),
  })
  .openapi('Health')

const withHealth = app.openapi(
  createRoute({
    method: 'get',
    path: '/health',
    summary: 'Liveness, and the warm pool when there is one',
    description: 'Needs no key.',
    responses: { 200: json(Health, 'Up; `warmPool` when WARM_POOL_SIZE > 0, `repoPools` when WARM_POOLS names any') },
  }),
  async (c) => {
    const settings = readSettings(c.env)
    const target = settings.warmPoolSize
    const repoPools = settings.warmPools.length > 0 ? { repoPools: await poolStub(c.env).repoStatus() } : {}
    if (target === 0) return c.json({ ok: true, ...repoPools }, 200)
    const { ready, refillPausedUntil } = await poolStub(c.env).status()
    return c.json(
      { ok: true, warmPool: { target, ready, ...(refillPausedUntil && { refillPausedUntil: new Date(refillPausedUntil).toISOString() }) }, ...repoPools },
      200,
    )
  },
)

const Readiness = z
  .object({
    ready: z.boolean(),
    provider: z.enum(['local', 'e2b']).optional(),
    missing: z.array(z.string()).openapi({ description: 'Settings the deployment lacks, by name' }),
    reasons: z.array(z.string()).openapi({ description: 'Why it is not ready; names settings, never values' }),
    notes: z
      .array(z.string())
      .optional()
      .openapi({ description: 'What is off without keeping sessions from starting (checkpoints without their bucket or SECRETS_KEY); present only then' }),
  })
  .openapi('Readiness')

const withReady = withHealth.openapi(
  createRoute({
    method: 'get',
    path: '/ready',
    summary: 'Readiness: settings complete and the sandbox provider answering',
    description:
      'Needs no key. Checks that the settings a session needs are set and fit a deployed Worker (a variable or secret over 5 KB is named, never its value), then asks the sandbox provider (E2B’s API with the key, or the local sandbox host) with a short timeout. `/health` stays liveness only.',
    responses: {
      200: json(Readiness, 'Ready to start sessions'),
      503: json(Readiness, 'Not ready; `reasons` says why'),
    },
  }),
  async (c) => {
    const answer = await recentReadiness(c.env)
    return answer.ready ? c.json(answer, 200) : c.json(answer, 503)
  },
)

// Sandboxes' model calls are not the API's: they carry their own credentials, sizes and types,
// and no web page has any business calling them. Slack sends its button clicks as a form.
app.use('/v1/*', except('/v1/gateway/*', allowOrigins))
app.use('/v1/*', except(['/v1/gateway/*', '/v1/webhooks/slack/actions'], requireJson))
app.use('/v1/*', except(['/v1/gateway/*', '/v1/sessions/:id/messages'], limitBody))
app.on('POST', '/v1/sessions/:id/messages', limitMessageBody)
app.route('/v1/gateway', gateway)
app.use('/v1/sessions/*', requireApiKey)
app.use('/v1/runs/*', requireApiKey)
app.use('/v1/schedules/*', requireApiKey)
app.use('/v1/usage/*', requireApiKey)
app.use('/v1/tenant/*', requireApiKey)
app.use('/v1/snapshots/*', requireApiKey)
app.use('/v1/models', requireApiKey)
app.use('/v1/agents', requireApiKey)
app.on('POST', ['/v1/sessions', '/v1/runs'], requireCompleteSettings)
const routes = withReady
  .route('/v1/sessions', sessions)
  .route('/v1/sessions', sessionWorkspace)
  .route('/v1/sessions', sessionCheckpoints)
  .route('/v1/sessions', sessionTerminal)
  .route('/v1/sessions', sessionOpencode)
  .route('/v1/sessions', sessionPreviews)
  .route('/v1/runs', runs)
  .route('/v1/schedules', schedules)
  .route('/v1/webhooks/slack', slackWebhook)
  .route('/v1/webhooks', webhooks)
  .route('/v1/usage', usage)
  .route('/v1/tenant', tenant)
  .route('/v1/snapshots', snapshots)
  .route('/v1', catalogue)

// Outside /v1: no middleware or route of the API runs under a preview's URL.
app.route(PREVIEW_PREFIX, previews)

/** The API's routes as a type, for `hc` from hono/client (src/client). */
export type AppType = typeof routes

app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' })
app.doc31('/openapi.json', {
  openapi: '3.1.0',
  info: {
    title: 'opencode-sandbox-worker',
    version: '1',
    description: 'Sessions with a coding agent in a sandbox, streamed as Server-Sent Events.',
  },
})
