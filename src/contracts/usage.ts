import { z } from '@hono/zod-openapi'
import { DAY_MS, dayOf, isDay, startOf } from '../lib/days'

/** A tenant's usage by day: the query, its range rules, and the answer. */

/** The longest range one request may ask for: a leap year, both ends included. */
export const MAX_RANGE_DAYS = 366
/** The range when none is given: the last 30 days, today included. */
export const DEFAULT_RANGE_DAYS = 30

/**
 * The range a request asks for, with the defaults filled in: `to` is today, `from` the 30 days
 * up to `to`. Wrong ranges are told apart so the error can say which end is wrong.
 */
export function usageRange(
  query: { from?: string; to?: string },
  now: number,
): { ok: true; from: string; to: string } | { ok: false; path: 'from' | 'to'; message: string } {
  const to = query.to ?? dayOf(now)
  if (!isDay(to)) return { ok: false, path: 'to', message: 'expected a date YYYY-MM-DD' }
  const from = query.from ?? dayOf(startOf(to) - (DEFAULT_RANGE_DAYS - 1) * DAY_MS)
  if (!isDay(from)) return { ok: false, path: 'from', message: 'expected a date YYYY-MM-DD' }
  if (to < from) return { ok: false, path: 'to', message: '`to` is before `from`' }
  if ((startOf(to) - startOf(from)) / DAY_MS + 1 > MAX_RANGE_DAYS) {
    return { ok: false, path: 'from', message: `a range covers at most ${MAX_RANGE_DAYS} days` }
  }
  return { ok: true, from, to }
}

const UsageDate = z.string().refine(isDay, 'expected a date YYYY-MM-DD')

export const UsageQuery = z
  .object({
    from: UsageDate.optional().openapi({ example: '2026-01-01', description: `first day, UTC (default: ${DEFAULT_RANGE_DAYS - 1} days before \`to\`)` }),
    to: UsageDate.optional().openapi({ example: '2026-01-31', description: 'last day, UTC, included (default: today)' }),
  })
  .superRefine((q, ctx) => {
    if (q.from !== undefined && !isDay(q.from)) return
    if (q.to !== undefined && !isDay(q.to)) return
    const range = usageRange(q, Date.now())
    if (!range.ok) ctx.addIssue({ code: 'custom', path: [range.path], message: range.message })
  })

export const UsageCounts = z.object({
  sessions: z.number().int().describe("sessions started, a run's own included"),
  runs: z.number().int().describe('background runs started'),
  turns: z.number().int().describe('turns ended (replied, failed or aborted)'),
  runningSeconds: z.number().describe('sandbox seconds running'),
  pausedSeconds: z.number().describe('sandbox seconds paused'),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cost: z.number().describe("USD: every model call the gateway carried (turns, titles, summaries, sub-agents, runs), as metered from the provider's usage at OPENCODE_CONFIG's or the price table's prices"),
})

const CapLeft = z
  .object({ limitUsd: z.number(), spentUsd: z.number(), remainingUsd: z.number() })
  .nullable()
  .openapi('CapLeft', { description: 'null when the deployment sets no such cap' })

export const CostCaps = z
  .object({
    day: CapLeft.describe('TENANT_MAX_COST_USD_PER_DAY against this UTC day'),
    month: CapLeft.describe('TENANT_MAX_COST_USD_PER_MONTH against this UTC month'),
  })
  .openapi('CostCaps')
export type CostCaps = z.infer<typeof CostCaps>

export const ModelUsage = z
  .object({
    provider: z.string(),
    model: z.string().describe('as the request named it'),
    calls: z.number().int(),
    inputTokens: z.number().describe('all input, cached or not'),
    outputTokens: z.number(),
    cacheReadTokens: z.number().describe('of the input, read from the provider’s cache'),
    cacheWriteTokens: z.number().describe('of the input, written to the provider’s cache'),
    cost: z.number(),
  })
  .openapi('ModelUsage')
export type ModelUsage = z.infer<typeof ModelUsage>

export const OpencodeFigure = z
  .object({
    inputTokens: z.number().describe('input not read from or written to a cache'),
    outputTokens: z.number(),
    cost: z.number(),
  })
  .openapi('OpencodeFigure', {
    description:
      "opencode's own count of its sessions' assistant messages (sub-agents' included), at its configured prices: shown beside the metered bill only where it differs from it. It leaves out calls outside a turn (titles, summaries) and cached input, and prices nothing it has no `cost` for.",
  })
export type OpencodeFigure = z.infer<typeof OpencodeFigure>

export const TenantUsage = z
  .object({
    from: z.string(),
    to: z.string(),
    days: z
      .array(UsageCounts.extend({ date: z.string(), opencode: OpencodeFigure.optional() }).openapi('UsageDay'))
      .describe(`every day of the range, at most ${MAX_RANGE_DAYS}`),
    totals: UsageCounts.extend({ opencode: OpencodeFigure.optional() }).openapi('UsageTotals'),
    models: z.array(ModelUsage).describe('the model calls of the range by provider and model, as the gateway metered them'),
    caps: CostCaps.optional().describe("what remains of the tenant's cost caps now, whatever the range"),
  })
  .openapi('TenantUsage')

export type UsageCounts = z.infer<typeof UsageCounts>
export type TenantUsage = z.infer<typeof TenantUsage>
