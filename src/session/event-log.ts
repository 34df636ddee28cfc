import type { LoggedEvent, PublicEvent, PublicEventType } from '../events/types'

/**
 * Events always kept, counting back from the newest: a client resuming from any of these ids
 * gets every event after it. Older deltas of completed messages are removed (their
 * `message.completed` carries the whole text), which keeps long sessions' logs bounded.
 */
export const RETAINED_EVENTS = 10_000
/** Compaction runs once per this many appends, so its cost is spread thin. */
const COMPACT_EVERY = 1_000

/**
 * The session's append-only event log. Sequence numbers start at 1, never repeat and never go
 * back; the highest one is kept in memory so an append is a single INSERT.
 */
export class EventLog {
  private last: number

  constructor(
    private readonly sql: SqlStorage,
    private readonly sessionId: () => string,
  ) {
    this.last = Number(sql.exec('SELECT COALESCE(MAX(seq), 0) AS last FROM events').one().last)
  }

  get lastSeq(): number {
    return this.last
  }

  append(ev: PublicEvent, now = new Date()): LoggedEvent {
    const seq = this.last + 1
    const data = JSON.stringify({ sessionId: this.sessionId(), at: now.toISOString(), ...ev.data })
    this.sql.exec('INSERT INTO events (seq, type, data) VALUES (?, ?, ?)', seq, ev.type, data)
    this.last = seq
    if (seq % COMPACT_EVERY === 0) this.compact()
    return { seq, type: ev.type, data }
  }

  /** Removes deltas older than the retained window whose message has completed. */
  compact(retained = RETAINED_EVENTS) {
    this.sql.exec(
      `DELETE FROM events WHERE type = 'message.delta' AND seq <= ?
         AND json_extract(data, '$.messageId') IN (SELECT id FROM messages WHERE role = 'assistant')`,
      this.last - retained,
    )
  }

  /** Events after `seq`, oldest first, at most `limit`. */
  after(seq: number, limit: number): LoggedEvent[] {
    return this.sql
      .exec<{ seq: number; type: string; data: string }>(
        'SELECT seq, type, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
        seq,
        limit,
      )
      .toArray()
      .map((r) => ({ seq: Number(r.seq), type: r.type as PublicEventType, data: r.data }))
  }
}
