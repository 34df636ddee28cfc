import { STALE_AFTER_MS } from '../gateway/spend'

/**
 * The calls in flight of all a tenant's sessions, each with the cost it was granted against,
 * kept in the tenant index's SQLite: its daily and monthly caps count them, so that sessions
 * calling side by side see each other's calls before any is settled. A session settles its own
 * (releasing it as its spend is added); one whose session never does (its storage gone) is
 * forgotten well after the session would have charged it (STALE_AFTER_MS), so that it cannot
 * hold the caps for ever.
 */
export class TenantReservations {
  /** `sql` holds `spend_reservations` (schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  add(id: string, cost: number, now: number) {
    this.sql.exec('INSERT OR IGNORE INTO spend_reservations (id, cost, at) VALUES (?, ?, ?)', id, cost, now)
  }

  release(id: string) {
    this.sql.exec('DELETE FROM spend_reservations WHERE id = ?', id)
  }

  /** What the calls in flight are reserved for, together, those long forgotten left out. */
  inFlight(now: number): number {
    this.sql.exec('DELETE FROM spend_reservations WHERE at < ?', now - 2 * STALE_AFTER_MS)
    return Number(this.sql.exec<{ cost: number }>('SELECT COALESCE(SUM(cost), 0) AS cost FROM spend_reservations').one().cost)
  }
}
