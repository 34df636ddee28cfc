/**
 * A tenant's limits as its index keeps them: how many sessions it has open, how fast it creates
 * them, and what its model calls cost per UTC day. Decisions are pure; `TenantLimits` keeps the
 * two small tables they read.
 */

export type Admission = { ok: true } | { ok: false; reason: string }

export function admitSession(active: number, createdLastMinute: number, limits: { maxActive: number; perMinute: number }): Admission {
  if (active >= limits.maxActive) return { ok: false, reason: `the tenant already has ${active} active sessions (at most ${limits.maxActive})` }
  if (createdLastMinute >= limits.perMinute) {
    return { ok: false, reason: `the tenant created ${createdLastMinute} sessions in the last minute (at most ${limits.perMinute})` }
  }
  return { ok: true }
}

/**
 * A new run, past the tenant's run rate, is refused; `again` is a run asked for again within the
 * minute (the same idempotency key), which is the run already counted.
 */
export function admitRun(createdLastMinute: number, perMinute: number, again: boolean): Admission {
  if (again || createdLastMinute < perMinute) return { ok: true }
  return { ok: false, reason: `the tenant started ${createdLastMinute} runs in the last minute (at most ${perMinute})` }
}

export const utcDay = (now: number) => new Date(now).toISOString().slice(0, 10)

const MINUTE = 60_000

export class TenantLimits {
  /** `sql` holds the tables of the index's schema (schema.ts). */
  constructor(private readonly sql: SqlStorage) {}

  /** Counts a creation against the rate, unless `decide` refuses it; old creations are forgotten. */
  admit(id: string, now: number, active: number, limits: { maxActive: number; perMinute: number }): Admission {
    this.sql.exec('DELETE FROM creations WHERE at < ?', now - MINUTE)
    const recent = Number(this.sql.exec('SELECT COUNT(*) AS n FROM creations').one().n)
    const decision = admitSession(active, recent, limits)
    if (decision.ok) this.sql.exec('INSERT OR IGNORE INTO creations (id, at) VALUES (?, ?)', id, now)
    return decision
  }

  /** Counts a run against the run rate unless refused; a run asked for again within the minute counts once. */
  admitRun(id: string, now: number, perMinute: number): Admission {
    this.sql.exec('DELETE FROM run_creations WHERE at < ?', now - MINUTE)
    const again = this.sql.exec('SELECT 1 FROM run_creations WHERE id = ?', id).toArray().length > 0
    const recent = Number(this.sql.exec('SELECT COUNT(*) AS n FROM run_creations').one().n)
    const decision = admitRun(recent, perMinute, again)
    if (decision.ok && !again) this.sql.exec('INSERT INTO run_creations (id, at) VALUES (?, ?)', id, now)
    return decision
  }

  addSpend(cost: number, now: number) {
    this.sql.exec('INSERT INTO spend (day, cost) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET cost = cost + excluded.cost', utcDay(now), cost)
  }

  spentInMonthOf(now: number): number {
    return Number(this.sql.exec<{ cost: number }>("SELECT COALESCE(SUM(cost), 0) AS cost FROM spend WHERE day LIKE ?", `${utcDay(now).slice(0, 7)}-%`).one().cost)
  }

  spentOn(now: number): number {
    return Number(this.sql.exec<{ cost: number }>('SELECT cost FROM spend WHERE day = ?', utcDay(now)).toArray()[0]?.cost ?? 0)
  }
}
