/**
 * Which run a Slack thread of the tenant's belongs to, so that a reply there reaches it. The
 * newest run of a thread wins (a fresh run after an ended one); only the threads of the last
 * MAX_SLACK_THREADS records are kept, which outlasts the day a run's session waits for a reply.
 */
export const MAX_SLACK_THREADS = 1000

export class SlackThreads {
  /** `sql` holds the `slack_threads` table of the index's schema (schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  runOf(thread: string): string | null {
    const row = this.sql.exec<{ run_id: string }>('SELECT run_id FROM slack_threads WHERE thread = ?', thread).toArray()[0]
    return row?.run_id ?? null
  }

  record(thread: string, runId: string): void {
    // A thread recorded again is replaced, so it takes the newest number: `seq` orders by recency.
    this.sql.exec('INSERT OR REPLACE INTO slack_threads (thread, run_id) VALUES (?, ?)', thread, runId)
    this.sql.exec('DELETE FROM slack_threads WHERE seq <= (SELECT MAX(seq) FROM slack_threads) - ?', MAX_SLACK_THREADS)
  }
}
