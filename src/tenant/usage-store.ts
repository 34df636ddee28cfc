import type { ModelUsage } from '../contracts/usage'
import type { OpencodeFigure } from '../contracts/usage'
import { USAGE_FIELDS, type CallOf, type StoredDay, type UsageReport } from './usage'

/** How long a report's id is remembered: long enough for any resend, short enough to stay small. */
const SEEN_FOR_MS = 2 * 86_400_000

const COLUMN: Record<(typeof USAGE_FIELDS)[number], string> = {
  sessions: 'sessions',
  runs: 'runs',
  turns: 'turns',
  runningSeconds: 'running_seconds',
  pausedSeconds: 'paused_seconds',
  inputTokens: 'input_tokens',
  outputTokens: 'output_tokens',
  cost: 'cost',
}
const columns = USAGE_FIELDS.map((f) => COLUMN[f])

/**
 * A tenant's usage in its index object's SQLite: one row per UTC day with running sums, and the
 * ids of recent reports so that one sent twice counts once. Every report counted is also written
 * to Analytics Engine when the `USAGE` binding is there.
 */
export class UsageStore {
  /** `sql` holds the tables of the index's schema (schema.ts). */
  constructor(
    private readonly sql: SqlStorage,
    private readonly analytics: AnalyticsEngineDataset | undefined,
  ) {}

  record(tenant: string, reports: UsageReport[], now: number) {
    this.sql.exec('DELETE FROM usage_seen WHERE at < ?', now - SEEN_FOR_MS)
    for (const report of reports) {
      if (this.sql.exec('INSERT OR IGNORE INTO usage_seen (id, at) VALUES (?, ?)', report.id, now).rowsWritten === 0) continue
      const values = USAGE_FIELDS.map((f) => report.counts[f] ?? 0)
      this.sql.exec(
        `INSERT INTO usage_days (day, ${columns.join(', ')}) VALUES (?, ${columns.map(() => '?').join(', ')})
         ON CONFLICT (day) DO UPDATE SET ${columns.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
        report.day,
        ...values,
      )
      if (report.call) this.recordCall(report, report.call)
      if (report.opencode) {
        this.recordOpencode(report.day, report.opencode)
        continue
      }
      // Column order is the contract with dashboards (README, "Usage in Analytics Engine").
      this.analytics?.writeDataPoint({ indexes: [tenant], blobs: [tenant, report.kind, report.day], doubles: values })
    }
  }

  /** opencode's own figure, beside the day's metered counts (it is not the bill: GET /v1/usage shows it where it differs). */
  private recordOpencode(day: string, figure: OpencodeFigure) {
    this.sql.exec(
      `UPDATE usage_days SET opencode_input_tokens = opencode_input_tokens + ?, opencode_output_tokens = opencode_output_tokens + ?,
         opencode_cost = opencode_cost + ? WHERE day = ?`,
      figure.inputTokens,
      figure.outputTokens,
      figure.cost,
      day,
    )
  }

  private recordCall(report: UsageReport, call: CallOf) {
    this.sql.exec(
      `INSERT INTO usage_models (day, provider, model, calls, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost)
       VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)
       ON CONFLICT (day, provider, model) DO UPDATE SET calls = calls + 1, input_tokens = input_tokens + excluded.input_tokens,
         output_tokens = output_tokens + excluded.output_tokens, cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
         cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, cost = cost + excluded.cost`,
      report.day,
      call.provider,
      call.model,
      report.counts.inputTokens ?? 0,
      report.counts.outputTokens ?? 0,
      call.cacheReadTokens,
      call.cacheWriteTokens,
      report.counts.cost ?? 0,
    )
  }

  /** The range's model calls by provider and model, largest cost first. */
  models(from: string, to: string): ModelUsage[] {
    return this.sql
      .exec<ModelUsage>(
        `SELECT provider, model, SUM(calls) AS calls, SUM(input_tokens) AS inputTokens, SUM(output_tokens) AS outputTokens,
           SUM(cache_read_tokens) AS cacheReadTokens, SUM(cache_write_tokens) AS cacheWriteTokens, SUM(cost) AS cost
         FROM usage_models WHERE day BETWEEN ? AND ? GROUP BY provider, model ORDER BY cost DESC, provider, model`,
        from,
        to,
      )
      .toArray()
  }

  days(from: string, to: string): StoredDay[] {
    const select = USAGE_FIELDS.map((f) => `${COLUMN[f]} AS ${f}`).join(', ')
    type Row = Omit<StoredDay, 'opencode'> & { ocInput: number; ocOutput: number; ocCost: number }
    return this.sql
      .exec<Row>(
        `SELECT day AS date, ${select}, opencode_input_tokens AS ocInput, opencode_output_tokens AS ocOutput, opencode_cost AS ocCost
         FROM usage_days WHERE day BETWEEN ? AND ? ORDER BY day`,
        from,
        to,
      )
      .toArray()
      .map(({ ocInput, ocOutput, ocCost, ...day }) => ({ ...day, opencode: { inputTokens: ocInput, outputTokens: ocOutput, cost: ocCost } }))
  }
}
