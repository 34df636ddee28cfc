import { createRoute, type RouteHandler } from '@hono/zod-openapi'
import type { AppEnv, Bindings } from '../env'
import { ErrorBody, Schedule, ScheduleBody, ScheduleList, ScheduleParams, SchedulePatch, ScheduleRuns, type CreateRunBody } from '../contracts'
import { schedulesStub } from '../durable-objects'
import { cronProblem } from '../lib/cron'
import { ApiError, unwrap } from '../lib/errors'
import { readSettings } from '../config/settings'
import { gatewayBase } from './gateway'
import { commonErrors, json, router, security } from './openapi'
import { checkRunBody } from './runs'
import { requireSecretsKey } from './sessions'

const errors = commonErrors('schedule')

/** A cron expression and time zone that fire, or 400 saying which is wrong. */
function requireFiringCron(cron: string, timezone: string) {
  const problem = cronProblem(cron, timezone, Date.now())
  if (!problem) return
  const path = problem.startsWith('unknown time zone') ? 'json.timezone' : 'json.cron'
  throw new ApiError('validation_failed', `${path}: ${problem}`, [{ path, message: problem, code: 'custom' }])
}

/** A schedule's run body is checked as POST /v1/runs checks one, once when it is set, not at each firing. */
async function requireRunnable(env: Bindings, requestUrl: string, tenant: string, run: CreateRunBody) {
  checkRunBody(env, requestUrl, tenant, run)
  await requireSecretsKey(env, { modelKeys: run.modelKeys, repoToken: run.repo?.token })
}

const one = (summary: string, description?: string) => ({
  security,
  request: { params: ScheduleParams },
  summary,
  ...(description && { description }),
  responses: { 200: json(Schedule, 'The schedule'), ...errors },
})

/** Pause and resume differ only in what the tenant's schedules are asked: one route each, built alike. */
function stateChange<V extends 'pause' | 'resume'>(verb: V, summary: string, description: string) {
  const route = createRoute({ method: 'post', path: `/{id}/${verb}` as `/{id}/${V}`, ...one(summary, description) })
  const handler: RouteHandler<typeof route, AppEnv> = async (c) =>
    c.json(unwrap(await schedulesStub(c.env, c.get('tenant'))[verb](c.get('tenant'), c.req.valid('param').id)), 200)
  return [route, handler] as const
}

/** Chained, so that its type carries every route for the typed client (`AppType`). */
export const schedules = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/',
      summary: 'Create a schedule',
      description:
        "Each time `cron` comes due in `timezone`, a run starts with `run` (the body of `POST /v1/runs`), linked to the schedule. A firing that comes while the schedule's last run is still going is skipped; firings missed while nothing ran (downtime) run once, not once each. Three runs in a row that do not succeed pause the schedule (`pausedReason` says so). At most MAX_SCHEDULES_PER_TENANT schedules per tenant (default 20), then 429.",
      security,
      request: { body: { ...json(ScheduleBody, 'The schedule'), required: true } },
      responses: {
        201: json(Schedule, 'Created'),
        ...errors,
        429: json(ErrorBody, 'The tenant has MAX_SCHEDULES_PER_TENANT schedules already'),
      },
    }),
    async (c) => {
      const body = c.req.valid('json')
      requireFiringCron(body.cron, body.timezone)
      await requireRunnable(c.env, c.req.url, c.get('tenant'), body.run)
      const created = await schedulesStub(c.env, c.get('tenant')).create(
        c.get('tenant'),
        body,
        gatewayBase(c.env, c.req.url),
        readSettings(c.env).maxSchedules,
      )
      return c.json(unwrap(created), 201)
    },
  )
  .openapi(
    createRoute({ method: 'get', path: '/', summary: "The tenant's schedules, oldest first", security, responses: { 200: json(ScheduleList, 'Every schedule'), ...errors } }),
    async (c) => c.json({ items: unwrap(await schedulesStub(c.env, c.get('tenant')).list(c.get('tenant'))) }, 200),
  )
  .openapi(createRoute({ method: 'get', path: '/{id}', ...one('Get a schedule') }), async (c) =>
    c.json(unwrap(await schedulesStub(c.env, c.get('tenant')).get(c.get('tenant'), c.req.valid('param').id)), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      ...one('Change a schedule', 'Its next firing is counted from now with the new expression; a new `run` replaces the old one whole, its keys too.'),
      request: { params: ScheduleParams, body: { ...json(SchedulePatch, 'What changes'), required: true } },
    }),
    async (c) => {
      const tenant = c.get('tenant')
      const { id } = c.req.valid('param')
      const patch = c.req.valid('json')
      const stub = schedulesStub(c.env, tenant)
      if (patch.cron !== undefined || patch.timezone !== undefined) {
        const current = unwrap(await stub.get(tenant, id))
        requireFiringCron(patch.cron ?? current.cron, patch.timezone ?? current.timezone)
      }
      if (patch.run) await requireRunnable(c.env, c.req.url, tenant, patch.run)
      return c.json(unwrap(await stub.update(tenant, id, patch, gatewayBase(c.env, c.req.url))), 200)
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      summary: 'Delete a schedule',
      description: 'It fires no more; runs it started go on.',
      security,
      request: { params: ScheduleParams },
      responses: { 204: { description: 'Deleted' }, ...errors },
    }),
    async (c) => {
      unwrap(await schedulesStub(c.env, c.get('tenant')).remove(c.get('tenant'), c.req.valid('param').id))
      return c.body(null, 204)
    },
  )
  .openapi(...stateChange('pause', 'Pause a schedule', 'It fires no more until resumed.'))
  .openapi(
    ...stateChange(
      'resume',
      'Resume a schedule',
      'It fires again from its next time after now (missed firings are not made up), its count of failed runs in a row cleared.',
    ),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/runs',
      summary: "The runs a schedule's firings started, newest first",
      security,
      request: { params: ScheduleParams },
      responses: { 200: json(ScheduleRuns, 'Its last 100 firings'), ...errors },
    }),
    async (c) => c.json({ items: unwrap(await schedulesStub(c.env, c.get('tenant')).runs(c.get('tenant'), c.req.valid('param').id)) }, 200),
  )
