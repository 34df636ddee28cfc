import type { SendMessageInput } from '../contracts'

export type QueueState = 'queued' | 'running' | 'done' | 'failed' | 'aborted' | 'dropped'

export type QueuedMessage = {
  pos: number
  id: string
  text: string
  model: string | null
  agent: string | null
  state: QueueState
  agent_message_id: string | null
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

  add(id: string, input: SendMessageInput, createdAt: string): number {
    this.sql.exec(
      `INSERT INTO queue (id, text, model, agent, idempotency_key, state, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?)`,
      id,
      input.text,
      input.model ?? null,
      input.agent ?? null,
      input.idempotencyKey ?? null,
      createdAt,
    )
    return this.posOf(id)!
  }

  byId(id: string): QueuedMessage | undefined {
    return this.sql.exec<QueuedMessage>('SELECT * FROM queue WHERE id = ?', id).toArray()[0]
  }

  posOf(id: string): number | undefined {
    const row = this.sql.exec<{ pos: number }>('SELECT pos FROM queue WHERE id = ?', id).toArray()[0]
    return row === undefined ? undefined : Number(row.pos)
  }

  waiting(): number {
    return Number(this.sql.exec(`SELECT COUNT(*) AS n FROM queue WHERE state = 'queued'`).one().n)
  }

  next(): QueuedMessage | undefined {
    return this.sql.exec<QueuedMessage>(`SELECT * FROM queue WHERE state = 'queued' ORDER BY pos LIMIT 1`).toArray()[0]
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
}
