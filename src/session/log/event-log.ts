import { Subagent, type LoggedEvent, type PublicEvent, type PublicEventType, type SubagentTag } from '../../contracts'
import { COALESCE_WINDOW_MS, continues, flushDelay, joined } from '../../events/coalesce'
import { bytesToFree, MAX_LOG_BYTES, storedBytes, SUPERSEDED } from '../../events/log-bound'
import { pageLength, REPLAY_PAGE_BYTES, REPLAY_PAGE_ROWS } from '../../events/replay-page'

/**
 * Events always kept, counting back from the newest: a client resuming from any of these ids
 * gets every event after it. Older deltas of completed messages are removed (their
 * `message.completed` carries the whole text), which keeps long sessions' logs bounded.
 */
export const RETAINED_EVENTS = 10_000
/** Compaction runs once per this many appends, so its cost is spread thin. */
const COMPACT_EVERY = 1_000

/** SQL for the superseded events of ../events/log-bound (our own constants, never input). */
const SUPERSEDED_SQL = SUPERSEDED.map(({ type, states }) =>
  states ? `(type = '${type}' AND json_extract(data, '$.state') IN (${states.map((s) => `'${s}'`).join(', ')}))` : `type = '${type}'`,
).join(' OR ')

/** Who hears of events once they are stored. */
export type EventReaders = { publishAll(events: LoggedEvent[]): void }

/**
 * The session's append-only event log. Sequence numbers start at 1, never repeat and never go
 * back. Appends are written in batches, one transaction each: a commit per event would cap a
 * session at a few hundred events a second. The first event after a pause is stored in the next
 * turn of the event loop; while events keep coming, stores are a short window apart (see
 * flushDelay). An event is handed to its readers (the fan-out, and so clients) only once it is stored, so
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
  /** the stored events' data in bytes, as event_log_size keeps it */
  private bytes: number
  private readers: EventReaders | undefined

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly sessionId: () => string,
    /** the log's bound in bytes (../events/log-bound); smaller in tests */
    private readonly maxBytes = MAX_LOG_BYTES,
    /** how far apart stores are while events keep coming (../events/coalesce); longer in a test that must not see one between two turns of the loop */
    private readonly windowMs = COALESCE_WINDOW_MS,
  ) {
    this.last = Number(storage.sql.exec('SELECT COALESCE(MAX(seq), 0) AS last FROM events').one().last)
    this.bytes = this.savedBytes()
  }

  /** Where stored events go from now on: the fan-out, built on this log for its replays. */
  publishTo(readers: EventReaders) {
    this.readers = readers
  }

  private savedBytes(): number {
    return Number(this.sql.exec('SELECT bytes FROM event_log_size').toArray()[0]?.bytes ?? 0)
  }

  /** The stored events' data, in bytes. */
  get storedBytes(): number {
    return this.bytes
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
    const delay = flushDelay(Date.now(), this.flushedAt, this.unwritten.length, this.windowMs)
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
    try {
      this.storage.transactionSync(() => {
        for (const e of batch) this.sql.exec('INSERT INTO events (seq, type, data) VALUES (?, ?, ?)', e.seq, e.type, e.data)
        this.bytes += batch.reduce((n, e) => n + storedBytes(e.data), 0)
        if (compactDue) this.compact()
        this.keepBound()
        this.saveBytes()
      })
    } catch (err) {
      // Rolled back: the size is what was stored before.
      this.bytes = this.savedBytes()
      throw err
    }
    this.readers?.publishAll(batch)
  }

  /** Removes deltas older than the retained window whose message has completed. */
  compact(retained = RETAINED_EVENTS) {
    this.bytes -= this.deleted(
      `type = 'message.delta' AND seq <= ? AND json_extract(data, '$.messageId') IN (SELECT id FROM messages WHERE role = 'assistant')`,
      this.last - retained,
    )
    this.saveBytes()
  }

  /**
   * Past the bound, the oldest events go until the log is back under it: superseded ones first,
   * then of any kind but the newest (what a client was told last). Ids never change, so a client
   * resuming from an id that went gets what is left after it.
   */
  private keepBound() {
    const superseded = bytesToFree(this.bytes, this.maxBytes)
    if (superseded > 0) this.bytes -= this.deleteOldest(`(${SUPERSEDED_SQL}) AND seq < ${this.last}`, superseded)
    const rest = bytesToFree(this.bytes, this.maxBytes)
    if (rest > 0) this.bytes -= this.deleteOldest(`seq < ${this.last}`, rest)
  }

  /** Deletes the oldest events that match `where` until at least `bytes` are gone (or all that match); the bytes freed. */
  private deleteOldest(where: string, bytes: number): number {
    const cut = this.sql
      .exec<{ seq: number }>(
        `SELECT seq FROM (SELECT seq, SUM(length(CAST(data AS BLOB))) OVER (ORDER BY seq) AS upto FROM events WHERE ${where})
         WHERE upto >= ? ORDER BY seq LIMIT 1`,
        bytes,
      )
      .toArray()[0]?.seq
    return cut === undefined ? this.deleted(where) : this.deleted(`(${where}) AND seq <= ?`, cut)
  }

  /** Deletes the events that match; the bytes their data took. */
  private deleted(where: string, ...bindings: SqlStorageValue[]): number {
    const rows = this.sql.exec<{ n: number }>(`DELETE FROM events WHERE ${where} RETURNING length(CAST(data AS BLOB)) AS n`, ...bindings).toArray()
    return rows.reduce((sum, r) => sum + Number(r.n), 0)
  }

  private saveBytes() {
    this.sql.exec('UPDATE event_log_size SET bytes = ?', this.bytes)
  }

  /**
   * One page of the events after `seq`, oldest first: at most `limit` rows and `maxBytes` of
   * data (but always one row); appended ones are stored first. Sizes are read before contents,
   * so a page of large events is never loaded to find where it ends.
   */
  after(seq: number, limit = REPLAY_PAGE_ROWS, maxBytes = REPLAY_PAGE_BYTES): LoggedEvent[] {
    this.flush()
    const sizes = this.sql
      .exec<{ seq: number; n: number }>('SELECT seq, length(CAST(data AS BLOB)) AS n FROM events WHERE seq > ? ORDER BY seq LIMIT ?', seq, limit)
      .toArray()
    const take = pageLength(sizes.map((r) => Number(r.n)), maxBytes)
    if (take === 0) return []
    return this.sql
      .exec<{ seq: number; type: string; data: string }>('SELECT seq, type, data FROM events WHERE seq > ? AND seq <= ? ORDER BY seq', seq, sizes[take - 1]!.seq)
      .toArray()
      .map((r) => ({ seq: Number(r.seq), type: r.type as PublicEventType, data: r.data }))
  }

  /**
   * The conversation as the log keeps it, for a transcript (../../events/transcript.ts): the
   * session's own messages created and completed, and its tools' ends, oldest first (appended
   * ones stored first); a sub-agent's are left out.
   */
  conversation(): PublicEvent[] {
    this.flush()
    return this.sql
      .exec<{ type: string; data: string }>(
        `SELECT type, data FROM events
         WHERE (type IN ('message.created', 'message.completed') OR (type = 'tool.updated' AND json_extract(data, '$.state') IN ('completed', 'error')))
           AND json_extract(data, '$.subagent') IS NULL
         ORDER BY seq`,
      )
      .toArray()
      .map((r) => ({ type: r.type, data: JSON.parse(r.data) as unknown }) as PublicEvent)
  }

  // What clients were shown, looked up when a restarted session follows its agent again: the
  // last `window` events are enough, since a restart happens within a turn or between turns.

  /**
   * The assistant message clients were shown opened in answer to `parentId` and not completed,
   * with the text streamed into it (appended events stored first): a session that restarted
   * mid-turn completes that message.
   */
  openReply(parentId: string, window: number): { messageId: string; text: string } | undefined {
    this.flush()
    const created = this.sql
      .exec<{ messageId: string }>(
        `SELECT json_extract(data, '$.messageId') AS messageId FROM events
         WHERE type = 'message.created' AND seq > ? AND json_extract(data, '$.parentId') = ? AND json_extract(data, '$.role') = 'assistant'
         ORDER BY seq DESC LIMIT 1`,
        this.last - window,
        parentId,
      )
      .toArray()[0]
    if (!created) return undefined
    const completed = this.sql
      .exec(`SELECT 1 FROM events WHERE type = 'message.completed' AND seq > ? AND json_extract(data, '$.messageId') = ?`, this.last - window, created.messageId)
      .toArray()
    if (completed.length > 0) return undefined
    const pieces = this.sql
      .exec<{ text: string }>(
        `SELECT json_extract(data, '$.text') AS text FROM events
         WHERE type = 'message.delta' AND seq > ? AND json_extract(data, '$.messageId') = ? AND json_extract(data, '$.kind') = 'text' ORDER BY seq`,
        this.last - window,
        created.messageId,
      )
      .toArray()
    return { messageId: created.messageId, text: pieces.map((p) => p.text).join('') }
  }

  /** How much of each part clients already have. */
  streamed(window: number) {
    return this.sql
      .exec<{ messageId: string; partId: string; kind: 'text' | 'reasoning'; length: number; subagent: string | null }>(
        `SELECT json_extract(data, '$.messageId') AS messageId, json_extract(data, '$.partId') AS partId,
                json_extract(data, '$.kind') AS kind, SUM(length(json_extract(data, '$.text'))) AS length,
                MAX(json_extract(data, '$.subagent')) AS subagent
         FROM events WHERE type = 'message.delta' AND seq > ? GROUP BY partId`,
        this.last - window,
      )
      .toArray()
      .map(({ subagent, ...part }) => ({ ...part, ...(subagent && { subagent: tagOf(subagent) }) }))
  }

  /** The sub-agents clients were shown. */
  subagents(window: number): SubagentTag[] {
    return this.sql
      .exec<{ tag: string }>(
        `SELECT DISTINCT json_extract(data, '$.subagent') AS tag FROM events
         WHERE type = 'message.created' AND seq > ? AND json_extract(data, '$.subagent') IS NOT NULL`,
        this.last - window,
      )
      .toArray()
      .map((r) => tagOf(r.tag))
  }

  /** Sub-agents' messages clients saw completed: they are not in the conversation, only in the log. */
  completedBySubagents(window: number): string[] {
    return this.sql
      .exec<{ id: string }>(
        `SELECT json_extract(data, '$.messageId') AS id FROM events
         WHERE type = 'message.completed' AND seq > ? AND json_extract(data, '$.subagent') IS NOT NULL`,
        this.last - window,
      )
      .toArray()
      .map((r) => r.id)
  }
}

/** A sub-agent's tag as an event stored it, checked on the way out of the log. */
function tagOf(json: string): SubagentTag {
  return Subagent.unwrap().parse(JSON.parse(json))
}
