/**
 * Which run a Slack thread of the tenant's belongs to, so that a reply there reaches it. The
 * newest run of a thread wins (a fresh run after an ended one); only the last
 * MAX_SLACK_THREADS threads are kept, which outlasts the day a run's session waits for a reply.
 */
export const MAX_SLACK_THREADS = 1000

export class SlackThreads {
  /** `sql` holds the `slack_threads` table of the index's schema (schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  runOf(thread: string): string | null {
    const row = this.sql.exec<{ run_id: string }>('SELECT run_id FROM slack_threads WHERE thread = ?', thread).toArray()[0]
    return row?.run_id ?? null
  }

  record(thread: string, runId: string, now: number): void {
    this.sql.exec('INSERT OR REPLACE INTO slack_threads (thread, run_id, at) VALUES (?, ?, ?)', thread, runId, now)
    this.sql.exec('DELETE FROM slack_threads WHERE thread NOT IN (SELECT thread FROM slack_threads ORDER BY at DESC, rowid DESC LIMIT ?)', MAX_SLACK_THREADS)
  }
}
