import { createRoute } from '@hono/zod-openapi'
import { TenantUsage, usageRange, UsageQuery } from '../contracts'
import { tenantStub } from '../durable-objects'
import { ApiError } from '../lib/errors'
import { commonErrors, json, router, security } from './openapi'

const { 400: badInput, 401: unauthorized } = commonErrors('usage')

/** Chained, so that its type carries the route for the typed client (`AppType`). */
export const usage = router().openapi(
  createRoute({
    method: 'get',
    path: '/',
    summary: "The tenant's usage by day",
    description:
      'Sessions, runs, turns, tokens, cost and sandbox seconds (running and paused apart), by UTC day, as sessions and runs report them. Needs the API key: a session token cannot read it.',
    security,
    request: { query: UsageQuery },
    responses: { 200: json(TenantUsage, 'Every day of the range and the totals'), 400: badInput, 401: unauthorized },
  }),
  async (c) => {
    if (c.get('apiKey') === undefined) throw new ApiError('unauthorized', 'usage needs the API key, not a session token')
    const range = usageRange(c.req.valid('query'), Date.now())
    // The schema has checked the range already; this only narrows its type.
    if (!range.ok) throw new ApiError('validation_failed', range.message)
    return c.json(await tenantStub(c.env, c.get('tenant')).usage(range.from, range.to), 200)
  },
)
