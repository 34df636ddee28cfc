import type { LoggedEvent, PublicEvent, PublicEventType } from '../contracts'
import { continues, flushDelay, joined } from '../events/coalesce'

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
 * back. Appends are written in batches, one transaction each: a commit per event would cap a
 * session at a few hundred events a second. The first event after a pause is stored in the next
 * turn of the event loop; while events keep coming, stores are a short window apart (see
 * flushDelay). An event is handed to `onWritten` (and so to clients) only once it is stored, so
 * no client ever sees an event a restart could take back. Consecutive deltas of one part that
 * wait to be stored together become one event (one id, one row, one frame): a burst of
 * thousands costs a few hundred rows, and since the merge happens before the id is public, ids
 * still count up without gaps and a replay sends exactly what was sent live.
 */
export class EventLog {
  private last: number
  private unwritten: { seq: number; sessionId: string; at: Date; ev: PublicEvent }[] = []
  private flushing: ReturnType<typeof setTimeout> | undefined
  /** when the last batch was stored (ms) */
  private flushedAt = 0

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sessionId: () => string,
    private readonly onWritten: (events: LoggedEvent[]) => void = () => {},
  ) {
    this.last = Number(storage.sql.exec('SELECT COALESCE(MAX(seq), 0) AS last FROM events').one().last)
  }

  private get sql(): SqlStorage {
    return this.storage.sql
  }

  get lastSeq(): number {
    return this.last
  }

  /** Appends an event (or folds a delta into the one before it); returns the id it is stored under. */
  append(ev: PublicEvent, now = new Date()): number {
    const last = this.unwritten.at(-1)
    if (last && continues(last.ev, ev)) {
      last.ev = joined(last.ev, ev)
      return last.seq
    }
    const seq = this.last + 1
    this.last = seq
    this.unwritten.push({ seq, sessionId: this.sessionId(), at: now, ev })
    this.schedule()
    return seq
  }

  /** Sets the store of what waits for when flushDelay says, sooner than one already set if need be. */
  private schedule() {
    const delay = flushDelay(Date.now(), this.flushedAt, this.unwritten.length)
    if (this.flushing !== undefined && delay > 0) return
    clearTimeout(this.flushing)
    this.flushing = setTimeout(() => this.flush(), delay)
  }

  /** Stores what was appended and not yet stored, in one transaction, then hands it on. */
  flush() {
    clearTimeout(this.flushing)
    this.flushing = undefined
    if (this.unwritten.length === 0) return
    const batch: LoggedEvent[] = this.unwritten.map(({ seq, sessionId, at, ev }) => ({
      seq,
      type: ev.type,
      data: JSON.stringify({ sessionId, at: at.toISOString(), ...ev.data }),
    }))
    this.unwritten = []
    this.flushedAt = Date.now()
    const compactDue = Math.floor(batch[0]!.seq / COMPACT_EVERY) !== Math.floor(this.last / COMPACT_EVERY)
    this.storage.transactionSync(() => {
      for (const e of batch) this.sql.exec('INSERT INTO events (seq, type, data) VALUES (?, ?, ?)', e.seq, e.type, e.data)
      if (compactDue) this.compact()
    })
    this.onWritten(batch)
  }

  /** Removes deltas older than the retained window whose message has completed. */
  compact(retained = RETAINED_EVENTS) {
    this.sql.exec(
      `DELETE FROM events WHERE type = 'message.delta' AND seq <= ?
         AND json_extract(data, '$.messageId') IN (SELECT id FROM messages WHERE role = 'assistant')`,
      this.last - retained,
    )
  }

  /** Events after `seq`, oldest first, at most `limit`; appended ones are stored first. */
  after(seq: number, limit: number): LoggedEvent[] {
    this.flush()
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
