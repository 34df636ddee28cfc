import { USAGE_FIELDS, type UsageDay, type UsageReport } from './usage'

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
      // Column order is the contract with dashboards (README, "Usage in Analytics Engine").
      this.analytics?.writeDataPoint({ indexes: [tenant], blobs: [tenant, report.kind, report.day], doubles: values })
    }
  }

  days(from: string, to: string): UsageDay[] {
    const select = USAGE_FIELDS.map((f) => `${COLUMN[f]} AS ${f}`).join(', ')
    return this.sql
      .exec<UsageDay>(`SELECT day AS date, ${select} FROM usage_days WHERE day BETWEEN ? AND ? ORDER BY day`, from, to)
      .toArray()
  }
}
