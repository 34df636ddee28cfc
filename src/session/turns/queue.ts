import type { AttachmentMime, SendMessageInput } from '../../contracts'
import type { ForkedQueueRow } from '../history/fork-copy'

/** Files are stored in pieces of this size: a Durable Object's SQLite row holds at most 2 MB. */
export const ATTACHMENT_CHUNK_BYTES = 1024 * 1024
/** An upload this old (by its id's time) was abandoned: no body takes this long to arrive. */
const STALE_UPLOAD_MS = 60 * 60 * 1000

export type QueueState = 'queued' | 'running' | 'done' | 'failed' | 'aborted' | 'dropped'

export type QueuedMessage = {
  pos: number
  id: string
  text: string
  model: string | null
  agent: string | null
  state: QueueState
  agent_message_id: string | null
  /** the message's own outputSchema, as JSON */
  output_schema: string | null
}

/**
 * The session's own message queue: every accepted message, in order, with where it stands.
 * It is the source of truth for what still has to run, whatever opencode remembers.
 */
export class MessageQueue {
  constructor(private readonly sql: SqlStorage) {}

  byIdempotencyKey(key: string): QueuedMessage | undefined {
    return this.sql.exec<QueuedMessage>('SELECT * FROM queue WHERE idempotency_key = ?', key).toArray()[0]
  }

  /** Queues a message with its files (staged already); a steered one goes before every message queued without steering. */
  add(id: string, input: SendMessageInput, createdAt: string): number {
    this.sql.exec(
      `INSERT INTO queue (id, text, model, agent, idempotency_key, state, created_at, steer, output_schema) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
      id,
      input.text,
      input.model ?? null,
      input.agent ?? null,
      input.idempotencyKey ?? null,
      createdAt,
      input.mode === 'steer' ? 1 : 0,
      input.outputSchema ? JSON.stringify(input.outputSchema) : null,
    )
    // The files arrived ahead, staged under their upload: now they are this message's.
    for (const [file, { filename, mime }] of (input.attachments?.files ?? []).entries()) {
      this.sql.exec(
        'UPDATE attachments SET message_id = ?, filename = ?, mime = ? WHERE message_id = ? AND file = ?',
        id,
        filename,
        mime,
        input.attachments!.upload,
        file,
      )
    }
    return this.posOf(id)!
  }

  byId(id: string): QueuedMessage | undefined {
    return this.sql.exec<QueuedMessage>('SELECT * FROM queue WHERE id = ?', id).toArray()[0]
  }

  /**
   * A piece of a file of a message still arriving (`upload`, see src/api/message-files.ts): kept
   * apart until the message is queued with it, and dropped with its upload otherwise. An upload
   * nobody finished (its Worker went away) is dropped by the next upload once STALE_UPLOAD_MS old.
   */
  stage(upload: string, file: number, chunk: number, bytes: Uint8Array) {
    if (file === 0 && chunk === 0) {
      this.sql.exec(
        `DELETE FROM attachments WHERE substr(message_id, 1, 4) = 'upl_' AND CAST(substr(message_id, 5, 13) AS INTEGER) < ?`,
        Date.now() - STALE_UPLOAD_MS,
      )
    }
    this.sql.exec(
      `INSERT INTO attachments (message_id, file, chunk, filename, mime, data) VALUES (?, ?, ?, '', '', ?)`,
      upload,
      file,
      chunk,
      bytes.slice().buffer,
    )
  }

  /** What is left staged of an upload; none once its message took its files. */
  dropUpload(upload: string) {
    this.sql.exec('DELETE FROM attachments WHERE message_id = ?', upload)
  }

  /** A message's files while they are kept (until its turn ends): each one's place, name, type and size. */
  files(id: string): { file: number; filename: string; mime: AttachmentMime; size: number }[] {
    return this.sql
      .exec<{ file: number; filename: string; mime: AttachmentMime; size: number }>(
        'SELECT file, filename, mime, SUM(length(data)) AS size FROM attachments WHERE message_id = ? GROUP BY file ORDER BY file',
        id,
      )
      .toArray()
      .map((r) => ({ ...r, file: Number(r.file), size: Number(r.size) }))
  }

  /** One file's bytes, read a stored piece at a time as the reader asks for them, so the file is never in memory whole. */
  fileBytes(id: string, file: number): ReadableStream<Uint8Array> {
    let chunk = 0
    return new ReadableStream({
      pull: (controller) => {
        const row = this.sql
          .exec<{ data: ArrayBuffer }>('SELECT data FROM attachments WHERE message_id = ? AND file = ? AND chunk = ?', id, file, chunk++)
          .toArray()[0]
        if (row) controller.enqueue(new Uint8Array(row.data))
        else controller.close()
      },
    })
  }

  /** The agent has a message's files (or never will): the session keeps only what the conversation shows. */
  forgetFiles(id: string) {
    this.sql.exec('DELETE FROM attachments WHERE message_id = ?', id)
  }

  posOf(id: string): number | undefined {
    const row = this.sql.exec<{ pos: number }>('SELECT pos FROM queue WHERE id = ?', id).toArray()[0]
    return row === undefined ? undefined : Number(row.pos)
  }

  /** The messages waiting without steering, but `except`: a steered message goes before them. */
  waitingUnsteered(except: string): string[] {
    return this.sql
      .exec<{ id: string }>(`SELECT id FROM queue WHERE state = 'queued' AND steer = 0 AND id != ? ORDER BY pos`, except)
      .toArray()
      .map((r) => r.id)
  }

  waiting(): number {
    return Number(this.sql.exec(`SELECT COUNT(*) AS n FROM queue WHERE state = 'queued'`).one().n)
  }

  next(): QueuedMessage | undefined {
    return this.sql.exec<QueuedMessage>(`SELECT * FROM queue WHERE state = 'queued' ORDER BY steer DESC, pos LIMIT 1`).toArray()[0]
  }

  running(): QueuedMessage | undefined {
    return this.sql.exec<QueuedMessage>(`SELECT * FROM queue WHERE state = 'running' ORDER BY pos LIMIT 1`).toArray()[0]
  }

  setState(id: string, state: QueueState) {
    this.sql.exec('UPDATE queue SET state = ? WHERE id = ?', state, id)
  }

  /** Keeps how a message's turn ended (its reply, or why there is none) for a repeated send. */
  setOutcome(id: string, outcome: unknown) {
    this.sql.exec('UPDATE queue SET outcome = ? WHERE id = ?', JSON.stringify(outcome), id)
  }

  outcomeOf(id: string): unknown {
    const row = this.sql.exec<{ outcome: string | null }>('SELECT outcome FROM queue WHERE id = ?', id).toArray()[0]
    return row?.outcome ? JSON.parse(row.outcome) : undefined
  }

  /** Remembers opencode's id for one of our messages, so a restarted session can still tell them apart. */
  setAgentMessageId(id: string, agentMessageId: string) {
    this.sql.exec('UPDATE queue SET agent_message_id = ? WHERE id = ?', agentMessageId, id)
  }

  /** opencode's user message ids mapped to ours. */
  agentMessageIds(): Map<string, string> {
    const rows = this.sql
      .exec<{ id: string; agent_message_id: string }>('SELECT id, agent_message_id FROM queue WHERE agent_message_id IS NOT NULL')
      .toArray()
    return new Map(rows.map((r) => [r.agent_message_id, r.id]))
  }

  /** Marks every waiting message dropped and says which they were. */
  dropWaiting(): string[] {
    const ids = this.sql.exec<{ id: string }>(`SELECT id FROM queue WHERE state = 'queued'`).toArray().map((r) => r.id)
    this.sql.exec(`UPDATE queue SET state = 'dropped' WHERE state = 'queued'`)
    return ids
  }

  /** The messages that ran (or were dropped), in order, as a fork takes them over; their turn is the conversation's to say. */
  settled(): Omit<ForkedQueueRow, 'turn'>[] {
    return this.sql
      .exec<Omit<ForkedQueueRow, 'turn'>>(
        `SELECT pos, id, text, model, agent, state, created_at, outcome, agent_message_id, steer
         FROM queue WHERE state NOT IN ('queued', 'running') ORDER BY pos`,
      )
      .toArray()
  }

  /** A message of the session this one was forked from (idempotency keys stay with the original). */
  copy(q: ForkedQueueRow) {
    this.sql.exec(
      `INSERT INTO queue (pos, id, text, model, agent, idempotency_key, state, created_at, outcome, agent_message_id, steer)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
      q.pos,
      q.id,
      q.text,
      q.model,
      q.agent,
      q.state,
      q.created_at,
      q.outcome,
      q.agent_message_id,
      q.steer,
    )
  }
}

