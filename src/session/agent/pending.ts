import type { PublicEventMap } from '../../contracts'

/**
 * Requests the agent is waiting on a human for (permissions and questions), kept in SQLite so
 * that a restarted session still knows what is open, when each times out, and never answers
 * or announces the end of one twice.
 */

/** What is kept of each kind: the public event that announced it, as views list it. */
export type PendingData = { permission: PublicEventMap['permission.requested']; question: PublicEventMap['question.asked'] }

export type PendingKind = keyof PendingData

export type PendingRequest<K extends PendingKind = PendingKind> = {
  [P in K]: { id: string; kind: P; data: PendingData[P]; deadline: number }
}[K]

export class PendingRequests {
  constructor(private readonly sql: SqlStorage) {}

  add<K extends PendingKind>(kind: K, id: string, data: PendingData[K], deadline: number) {
    this.sql.exec(
      'INSERT OR REPLACE INTO pending (id, kind, data, deadline) VALUES (?, ?, ?, ?)',
      id,
      kind,
      JSON.stringify(data),
      deadline,
    )
  }

  /** Removes a request; true only for the call that actually removed it. */
  take(kind: PendingKind, id: string): boolean {
    return this.sql.exec('DELETE FROM pending WHERE id = ? AND kind = ?', id, kind).rowsWritten > 0
  }

  has(kind: PendingKind, id: string): boolean {
    return this.sql.exec('SELECT 1 FROM pending WHERE id = ? AND kind = ?', id, kind).toArray().length > 0
  }

  list<K extends PendingKind = PendingKind>(kind?: K): PendingRequest<K>[] {
    const rows = this.sql
      .exec<{ id: string; kind: string; data: string; deadline: number }>(
        kind ? 'SELECT * FROM pending WHERE kind = ? ORDER BY deadline' : 'SELECT * FROM pending ORDER BY deadline',
        ...(kind ? [kind] : []),
      )
      .toArray()
    return rows.map((r) => ({ id: r.id, kind: r.kind, data: JSON.parse(r.data), deadline: Number(r.deadline) }) as PendingRequest<K>)
  }

  expired(now: number): PendingRequest[] {
    return this.list().filter((p) => p.deadline <= now)
  }

  nextDeadline(): number | undefined {
    const row = this.sql.exec<{ d: number | null }>('SELECT MIN(deadline) AS d FROM pending').one()
    return row.d === null ? undefined : Number(row.d)
  }
}
