import { z } from '@hono/zod-openapi'
import { DEFAULT_RANGE_DAYS, isDay, MAX_RANGE_DAYS, usageRange } from '../../tenant/usage'

/** A tenant's usage by day: the query and the answer. */

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

const UsageCounts = z.object({
  sessions: z.number().int().describe("sessions started, a run's own included"),
  runs: z.number().int().describe('background runs started'),
  turns: z.number().int().describe('turns ended (replied, failed or aborted)'),
  runningSeconds: z.number().describe('sandbox seconds running'),
  pausedSeconds: z.number().describe('sandbox seconds paused'),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cost: z.number().describe("the model provider's cost as opencode reports it"),
})

export const TenantUsage = z
  .object({
    from: z.string(),
    to: z.string(),
    days: z.array(UsageCounts.extend({ date: z.string() }).openapi('UsageDay')).describe(`every day of the range, at most ${MAX_RANGE_DAYS}`),
    totals: UsageCounts.openapi('UsageTotals'),
  })
  .openapi('TenantUsage')
