/**
 * A tenant's usage, by UTC day: the pure part. Sessions and runs send reports, the tenant's
 * Durable Object adds them to its days (./usage-store), and GET /v1/usage reads them back.
 */

import { UsageCounts, type CostCaps, type ModelUsage, type OpencodeFigure, type TenantUsage } from '../contracts/usage'
import { DAY_MS, dayOf, daysIn, startOf } from '../lib/days'

/** What is counted: the fields of the usage answer. */
export const USAGE_FIELDS = UsageCounts.keyof().options

export type UsageField = (typeof USAGE_FIELDS)[number]
export type UsageKind = 'session' | 'run' | 'turn' | 'sandbox' | 'call' | 'opencode'

/**
 * One thing to count, on one day. `id` names it for good (the same report twice counts once),
 * so a report that may be sent again is harmless. An `opencode` report is opencode's own figure
 * for one assistant message, kept beside the metered bill (which `call` reports make), not in it.
 */
export type UsageReport = { id: string; kind: UsageKind; day: string; counts: Partial<UsageCounts>; call?: CallOf; opencode?: OpencodeFigure }

/** Which model a call report is of, and the cached part of its input (inside `counts.inputTokens`). */
export type CallOf = { provider: string; model: string; cacheReadTokens: number; cacheWriteTokens: number }

export type UsageDay = TenantUsage['days'][number]

/** A day as the store keeps it: the metered counts, and opencode's own figure for the same day. */
export type StoredDay = UsageCounts & { date: string; opencode: OpencodeFigure }

export const zeroCounts = (): UsageCounts => Object.fromEntries(USAGE_FIELDS.map((f) => [f, 0])) as UsageCounts

// Sums of many small floats drift (0.1 + 0.2); answers are rounded to what is worth telling.
const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places
const tidy = (c: UsageCounts): UsageCounts => ({
  ...c,
  runningSeconds: round(c.runningSeconds, 3),
  pausedSeconds: round(c.pausedSeconds, 3),
  cost: round(c.cost, 9),
})

const noFigure = (): OpencodeFigure => ({ inputTokens: 0, outputTokens: 0, cost: 0 })

/** opencode's figure, to be shown beside the metered counts only where the two disagree. */
export function besideMetered(metered: UsageCounts, opencode: OpencodeFigure): { opencode?: OpencodeFigure } {
  const figure = { ...opencode, cost: round(opencode.cost, 9) }
  const same = figure.inputTokens === metered.inputTokens && figure.outputTokens === metered.outputTokens && figure.cost === round(metered.cost, 9)
  return same ? {} : { opencode: figure }
}

/** Every day of the range, zero where nothing happened, and the totals; opencode's figure beside each where it differs. */
export function usageSummary(from: string, to: string, stored: StoredDay[], models: ModelUsage[] = []): TenantUsage {
  const byDay = new Map(stored.map((d) => [d.date, d]))
  const totals = zeroCounts()
  const opencodeTotal = noFigure()
  const days = daysIn(from, to).map((date) => {
    const { opencode = noFigure(), ...counts } = byDay.get(date) ?? {}
    const day = { ...zeroCounts(), ...counts }
    for (const f of USAGE_FIELDS) totals[f] += day[f]
    for (const f of ['inputTokens', 'outputTokens', 'cost'] as const) opencodeTotal[f] += opencode[f]
    return { date, ...tidy(day), ...besideMetered(day, opencode) }
  })
  const rounded = models.map((m) => ({ ...m, cost: round(m.cost, 9) }))
  return { from, to, days, totals: { ...tidy(totals), ...besideMetered(totals, opencodeTotal) }, models: rounded }
}

/** What a sandbox is billed as while it is in a state. */
export type MeterMode = 'running' | 'paused' | null

/**
 * How a sandbox state changes what its time counts as: ready (first start, resumed, agent
 * restarted) runs until paused, stopped or lost; paused stays paused until resumed or stopped.
 * `starting` keeps what was: a resume counts as paused until the sandbox is ready again.
 */
export function meterMode(current: MeterMode, state: string): MeterMode {
  if (state === 'ready' || state === 'restarting') return 'running'
  if (state === 'paused') return 'paused'
  if (state === 'stopped' || state === 'lost') return null
  return current
}

/** The seconds of [fromMs, toMs) in `mode`, split on UTC midnights, one report per day they fall in. */
export function sandboxReports(idPrefix: string, mode: 'running' | 'paused', fromMs: number, toMs: number): UsageReport[] {
  const reports: UsageReport[] = []
  const field = mode === 'running' ? 'runningSeconds' : 'pausedSeconds'
  for (let start = fromMs; start < toMs; ) {
    const day = dayOf(start)
    const end = Math.min(toMs, startOf(day) + DAY_MS)
    reports.push({ id: `${idPrefix}:${start}`, kind: 'sandbox', day, counts: { [field]: (end - start) / 1000 } })
    start = end
  }
  return reports
}

/** What remains of each of the tenant's cost caps (none where the deployment sets none). */
export function capsLeft(spent: { today: number; month: number }, caps: { capPerDay?: number; capPerMonth?: number }): CostCaps {
  const left = (limit: number | undefined, used: number) =>
    limit === undefined ? null : { limitUsd: limit, spentUsd: round(used, 9), remainingUsd: round(Math.max(0, limit - used), 9) }
  return { day: left(caps.capPerDay, spent.today), month: left(caps.capPerMonth, spent.month) }
}
