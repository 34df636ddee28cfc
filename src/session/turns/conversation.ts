import type { AttachmentInfo, ConversationMessage } from '../../contracts'
import type { ForkedMessage } from '../history/fork-copy'
import { readBody, storedBody, type MessageBody } from './message-rows'

type Row = { id: string; turn: number; role: string; text: string; parts: string; created_at: string; pieces: number }

/**
 * The conversation as `GET /messages` shows it: user messages as accepted, assistant messages
 * as completed, each filed under the turn (queue position) of the user message it answers.
 */
export class Conversation {
  constructor(private readonly sql: SqlStorage) {}

  /** A user message; its files are listed by name, type and size, never with their bytes. */
  addUser(id: string, turn: number, text: string, createdAt: string, attachments: AttachmentInfo[] = []) {
    const files = attachments.map((a) => ({ type: 'file', ...a }))
    this.store(id, turn, 'user', { text, parts: [{ type: 'text', text }, ...files] }, createdAt)
  }

  /**
   * The turn a steered message takes: that of the first waiting message it goes before (`ahead`,
   * ids of messages queued without steering), each of which moves one turn on; with none, `own`.
   */
  placeBefore(ahead: string[], own: number): number {
    const first = ahead.map((id) => this.turnOf(id)).filter((t) => t !== undefined).sort((a, b) => a - b)[0]
    if (first === undefined) return own
    for (const id of ahead) this.sql.exec(`UPDATE messages SET turn = turn + 1 WHERE id = ? AND role = 'user'`, id)
    return first
  }

  /** Where a user message stands in the conversation (its place in the queue, unless a steered message went before it). */
  /** Each user message's place in the conversation (a steered one's is before the messages it overtook). */
  userTurns(): Map<string, number> {
    return new Map(this.sql.exec<{ id: string; turn: number }>("SELECT id, turn FROM messages WHERE role = 'user'").toArray().map((r) => [r.id, r.turn]))
  }

  turnOf(id: string): number | undefined {
    const row = this.sql.exec<{ turn: number }>(`SELECT turn FROM messages WHERE id = ? AND role = 'user'`, id).toArray()[0]
    return row === undefined ? undefined : Number(row.turn)
  }

  /** Files an assistant message; a message with no known turn sorts last. */
  recordAssistant(id: string, turn: number | undefined, text: string, parts: unknown[]) {
    this.store(id, turn ?? Number.MAX_SAFE_INTEGER, 'assistant', { text, parts }, new Date().toISOString())
  }

  /** A message of the session this one is forked from, as that one read it (see `forkable`). */
  copy(m: ForkedMessage) {
    this.store(m.id, m.turn, m.role, { text: m.text, parts: JSON.parse(m.parts) as unknown[] }, m.created_at)
  }

  /** A message written (or written again: a replay completes it anew) within the row limit; see ./message-rows. */
  private store(id: string, turn: number, role: string, body: MessageBody, createdAt: string) {
    const { text, parts, pieces } = storedBody(body)
    this.sql.exec('DELETE FROM message_pieces WHERE message_id = ?', id)
    this.sql.exec(
      'INSERT OR REPLACE INTO messages (id, turn, role, text, parts, created_at, pieces) VALUES (?, ?, ?, ?, ?, ?, ?)',
      id,
      turn,
      role,
      text,
      parts,
      createdAt,
      pieces.length,
    )
    pieces.forEach((data, piece) => this.sql.exec('INSERT INTO message_pieces (message_id, piece, data) VALUES (?, ?, ?)', id, piece, data))
  }

  /** Takes the messages from `turn` on out of the listing (kept for an unrevert); `undefined` brings all back. */
  revertFrom(turn: number | undefined) {
    this.sql.exec('UPDATE messages SET reverted = CASE WHEN turn >= ? THEN 1 ELSE 0 END', turn ?? Number.MAX_SAFE_INTEGER + 1)
  }

  dropReverted() {
    this.sql.exec('DELETE FROM message_pieces WHERE message_id IN (SELECT id FROM messages WHERE reverted = 1)')
    this.sql.exec('DELETE FROM messages WHERE reverted = 1')
  }

  assistantIds(): string[] {
    return this.sql.exec<{ id: string }>(`SELECT id FROM messages WHERE role = 'assistant'`).toArray().map((r) => r.id)
  }

  /** The conversation as it stands (undone messages left out), each message whole, in its order. */
  private rows(): (Omit<Row, 'text' | 'parts'> & MessageBody)[] {
    return this.sql
      .exec<Row>('SELECT id, turn, role, text, parts, created_at, pieces FROM messages WHERE reverted = 0 ORDER BY turn, role DESC, created_at')
      .toArray()
      .map((r) => ({ ...r, ...readBody(r, r.pieces > 0 ? this.piecesOf(r.id) : []) }))
  }

  private piecesOf(id: string): string[] {
    return this.sql
      .exec<{ data: string }>('SELECT data FROM message_pieces WHERE message_id = ? ORDER BY piece', id)
      .toArray()
      .map((p) => p.data)
  }

  /** The conversation as a fork takes it over. */
  forkable(): ForkedMessage[] {
    return this.rows().map(({ id, turn, role, text, parts, created_at }) => ({ id, turn: Number(turn), role, text, parts: JSON.stringify(parts), created_at }))
  }

  list(): ConversationMessage[] {
    return this.rows().map((r) => {
      const parts = r.parts as { type?: string; filename?: string; mime?: string; size?: number }[]
      const attachments = r.role === 'user' ? parts.filter((p) => p.type === 'file').map(({ filename, mime, size }) => ({ filename, mime, size })) : []
      return {
        id: r.id,
        role: r.role as ConversationMessage['role'],
        text: r.text,
        parts,
        ...(attachments.length > 0 && { attachments: attachments as AttachmentInfo[] }),
        createdAt: r.created_at,
      }
    })
  }
}
