import type { Reservation } from '../../gateway/spend'

/**
 * A session's model calls in flight, each with what it was granted against (src/gateway/spend.ts),
 * kept in the session's SQLite until the call is settled. While one is here it counts against
 * the session's and its tenant's caps; one whose report never comes (the Worker that carried the
 * call went away) stays counted at its reservation, never free.
 */
export class Reservations {
  /** `sql` holds `gateway_reservations` (src/session/store/schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  add(reservation: Reservation, now: number): string {
    const id = crypto.randomUUID()
    this.sql.exec('INSERT INTO gateway_reservations (id, cost, output_tokens, at) VALUES (?, ?, ?, ?)', id, reservation.cost, reservation.outputTokens, now)
    return id
  }

  /** The reservation `id` names, gone from the calls in flight; undefined when it was settled already. */
  take(id: string): Reservation | undefined {
    const row = this.sql
      .exec<{ cost: number; output_tokens: number }>('DELETE FROM gateway_reservations WHERE id = ? RETURNING cost, output_tokens', id)
      .toArray()[0]
    return row && { cost: row.cost, outputTokens: row.output_tokens }
  }

  /** The ids of reservations made before `before`: calls whose report is not coming any more. */
  staleIds(before: number): string[] {
    return this.sql.exec<{ id: string }>('SELECT id FROM gateway_reservations WHERE at < ?', before).toArray().map((r) => r.id)
  }

  /** What every call in flight is reserved for, together. */
  inFlight(): Reservation {
    const row = this.sql
      .exec<{ cost: number; output_tokens: number }>('SELECT COALESCE(SUM(cost), 0) AS cost, COALESCE(SUM(output_tokens), 0) AS output_tokens FROM gateway_reservations')
      .one()
    return { cost: Number(row.cost), outputTokens: Number(row.output_tokens) }
  }
}
