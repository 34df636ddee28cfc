/**
 * A tenant's usage, by UTC day: the pure part. Sessions and runs send reports, the tenant's
 * Durable Object adds them to its days (./usage-store), and GET /v1/usage reads them back.
 */

export const USAGE_FIELDS = [
  'sessions',
  'runs',
  'turns',
  'runningSeconds',
  'pausedSeconds',
  'inputTokens',
  'outputTokens',
  'cost',
] as const

export type UsageField = (typeof USAGE_FIELDS)[number]
export type UsageCounts = Record<UsageField, number>
export type UsageKind = 'session' | 'run' | 'turn' | 'sandbox'

/**
 * One thing to count, on one day. `id` names it for good (the same report twice counts once),
 * so a report that may be sent again is harmless.
 */
export type UsageReport = { id: string; kind: UsageKind; day: string; counts: Partial<UsageCounts> }

export type UsageDay = { date: string } & UsageCounts
export type UsageSummary = { from: string; to: string; days: UsageDay[]; totals: UsageCounts }

const DAY_MS = 86_400_000
/** The longest range one request may ask for: a leap year, both ends included. */
export const MAX_RANGE_DAYS = 366
/** The range when none is given: the last 30 days, today included. */
export const DEFAULT_RANGE_DAYS = 30

export const zeroCounts = (): UsageCounts => Object.fromEntries(USAGE_FIELDS.map((f) => [f, 0])) as UsageCounts

/** The UTC day of an instant, as YYYY-MM-DD. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

const startOf = (day: string): number => Date.parse(`${day}T00:00:00Z`)

/** A real calendar day written YYYY-MM-DD (not 2026-02-30). */
export function isDay(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(startOf(text)) && dayOf(startOf(text)) === text
}

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

/** Every day from `from` to `to`, both included. */
export function daysIn(from: string, to: string): string[] {
  const days: string[] = []
  for (let t = startOf(from); t <= startOf(to); t += DAY_MS) days.push(dayOf(t))
  return days
}

// Sums of many small floats drift (0.1 + 0.2); answers are rounded to what is worth telling.
const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places
const tidy = (c: UsageCounts): UsageCounts => ({
  ...c,
  runningSeconds: round(c.runningSeconds, 3),
  pausedSeconds: round(c.pausedSeconds, 3),
  cost: round(c.cost, 9),
})

/** Every day of the range, zero where nothing happened, and the totals. */
export function usageSummary(from: string, to: string, stored: UsageDay[]): UsageSummary {
  const byDay = new Map(stored.map((d) => [d.date, d]))
  const totals = zeroCounts()
  const days = daysIn(from, to).map((date) => {
    const day = { ...zeroCounts(), ...byDay.get(date), date }
    for (const f of USAGE_FIELDS) totals[f] += day[f]
    return { date, ...tidy(day) }
  })
  return { from, to, days, totals: tidy(totals) }
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
