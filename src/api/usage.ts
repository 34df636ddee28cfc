import { createRoute } from '@hono/zod-openapi'
import { TenantUsage, usageRange, UsageQuery } from '../contracts'
import { tenantStub } from '../durable-objects'
import { ApiError } from '../lib/errors'
import { readSettings } from '../config/settings'
import { capsLeft } from '../tenant/usage'
import { commonErrors, json, router, security } from './openapi'

const { 400: badInput, 401: unauthorized } = commonErrors('usage')

/** Chained, so that its type carries the route for the typed client (`AppType`). */
export const usage = router().openapi(
  createRoute({
    method: 'get',
    path: '/',
    summary: "The tenant's usage by day",
    description:
      'Sessions, runs, turns, tokens, cost and sandbox seconds (running and paused apart), by UTC day, as sessions and runs report them; tokens and cost are what the model gateway metered for every call it carried. `caps` says what remains of the tenant\'s daily and monthly cost caps. Needs the API key: a session token cannot read it.',
    security,
    request: { query: UsageQuery },
    responses: { 200: json(TenantUsage, 'Every day of the range and the totals'), 400: badInput, 401: unauthorized },
  }),
  async (c) => {
    if (c.get('apiKey') === undefined) throw new ApiError('unauthorized', 'usage needs the API key, not a session token')
    const range = usageRange(c.req.valid('query'), Date.now())
    // The schema has checked the range already; this only narrows its type.
    if (!range.ok) throw new ApiError('validation_failed', range.message)
    const index = tenantStub(c.env, c.get('tenant'))
    const settings = readSettings(c.env)
    const [days, spent] = await Promise.all([index.usage(range.from, range.to), index.spent()])
    return c.json({ ...days, caps: capsLeft(spent, { capPerDay: settings.tenantMaxCostPerDay, capPerMonth: settings.tenantMaxCostPerMonth }) }, 200)
  },
)
