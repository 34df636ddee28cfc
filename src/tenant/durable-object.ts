import { DurableObject } from 'cloudflare:workers'
import type { SessionPage, SessionSummary, TenantUsage } from '../contracts'
import type { TenantRpc } from '../durable-objects'
import type { Bindings } from '../env'
import { decodeCursor, encodeCursor } from '../lib/cursor'
import { migrate } from '../lib/migrations'
import { TenantLimits, type Admission } from './limits'
import { TenantReservations } from './reservations'
import { checkTenant, type BudgetCheck } from '../gateway/budget'
import { readSettings } from '../config/settings'
import { TENANT_MIGRATIONS } from './schema'
import { usageSummary, type UsageReport } from './usage'
import { UsageStore } from './usage-store'
import { SnapshotStore } from './snapshot-store'
import { SlackThreads } from './slack-threads'
import type { SnapshotPolicy, SnapshotRow } from '../sandbox/snapshots'

/**
 * One per tenant: the list of its sessions, newest first, and its usage by day. Sessions push
 * their summary and usage here as they change, so reading either asks one object, not every session.
 */
export class TenantIndex extends DurableObject<Bindings> implements TenantRpc {
  private readonly sql: SqlStorage
  private readonly limits: TenantLimits
  private readonly reservations: TenantReservations
  private readonly usageStore: UsageStore
  private readonly snapshotStore: SnapshotStore
  private readonly slackThreads: SlackThreads

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    migrate(this.sql, TENANT_MIGRATIONS)
    this.limits = new TenantLimits(this.sql)
    this.reservations = new TenantReservations(this.sql)
    this.usageStore = new UsageStore(this.sql, env.USAGE)
    this.snapshotStore = new SnapshotStore(this.sql)
    this.slackThreads = new SlackThreads(this.sql)
  }

  /**
   * Lets a new session in, or says why not. An admitted session is listed at once as starting,
   * so that creations racing each other count each other.
   */
  async admit(summary: SessionSummary, limits: { maxActive: number; perMinute: number }): Promise<Admission> {
    const active = Number(
      this.sql.exec(`SELECT COUNT(*) AS n FROM sessions WHERE json_extract(summary, '$.status') IN ('starting', 'idle', 'busy')`).one().n,
    )
    const decision = this.limits.admit(summary.id, Date.now(), active, limits)
    if (decision.ok) await this.upsert(summary)
    return decision
  }

  /** Lets a new run in, or says why not: asked before the run's own object is made. */
  async admitRun(id: string, perMinute: number): Promise<Admission> {
    return this.limits.admitRun(id, Date.now(), perMinute)
  }

  async slackThreadRun(thread: string): Promise<string | null> {
    return this.slackThreads.runOf(thread)
  }

  async recordSlackThread(thread: string, runId: string): Promise<void> {
    this.slackThreads.record(thread, runId)
  }

  /**
   * Grants a session's call against the tenant's cost caps, every session's calls in flight
   * counted, or says why not; a granted call of some cost is held as reserved until it is
   * settled (addSpend). The check and the hold are one step, so calls from sessions side by side
   * pass a cap by at most one reservation.
   */
  async reserve(id: string, cost: number): Promise<BudgetCheck> {
    const settings = readSettings(this.env)
    const decision = checkTenant({ ...this.spendNow(Date.now()), capPerDay: settings.tenantMaxCostPerDay, capPerMonth: settings.tenantMaxCostPerMonth })
    if (decision.ok && cost > 0) this.reservations.add(id, cost, Date.now())
    return decision
  }

  async addSpend(cost: number, settled?: string): Promise<void> {
    if (cost > 0) this.limits.addSpend(cost, Date.now())
    if (settled) this.reservations.release(settled)
  }

  async spent(): Promise<{ today: number; month: number; reserved: number }> {
    return this.spendNow(Date.now())
  }

  private spendNow(now: number) {
    return { today: this.limits.spentOn(now), month: this.limits.spentInMonthOf(now), reserved: this.reservations.inFlight(now) }
  }

  async recordUsage(tenant: string, reports: UsageReport[]): Promise<void> {
    this.usageStore.record(tenant, reports, Date.now())
  }

  async usage(from: string, to: string): Promise<TenantUsage> {
    return usageSummary(from, to, this.usageStore.days(from, to), this.usageStore.models(from, to))
  }

  /**
   * A session's summary as it now stands. Each update is a call of its own, and two in flight can
   * arrive out of order: one sent while the session was starting must not bring back a session
   * that has since ended (its end is final, as in the session itself).
   */
  async upsert(summary: SessionSummary): Promise<void> {
    this.sql.exec(
      `INSERT INTO sessions (id, created_at, summary) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET summary = excluded.summary
       WHERE json_extract(sessions.summary, '$.status') NOT IN ('ended', 'failed')
          OR json_extract(excluded.summary, '$.status') IN ('ended', 'failed')`,
      summary.id,
      summary.createdAt,
      JSON.stringify(summary),
    )
  }

  /** An ended session's storage was deleted: it leaves the listing too. */
  async remove(id: string): Promise<void> {
    this.sql.exec('DELETE FROM sessions WHERE id = ?', id)
  }

  async snapshots(family?: string): Promise<SnapshotRow[]> {
    return this.snapshotStore.list(family)
  }

  async addSnapshot(snapshot: SnapshotRow, policy: SnapshotPolicy): Promise<SnapshotRow[]> {
    return this.snapshotStore.add(snapshot, policy, Date.now())
  }

  async removeSnapshot(id: string): Promise<SnapshotRow | null> {
    return this.snapshotStore.remove(id)
  }

  async list(limit: number, cursor?: string): Promise<SessionPage> {
    const [createdAt, id] = cursor ? decodeCursor(cursor) : [undefined, undefined]
    const rows = this.sql
      .exec<{ id: string; created_at: string; summary: string }>(
        createdAt === undefined
          ? 'SELECT * FROM sessions ORDER BY created_at DESC, id DESC LIMIT ?'
          : 'SELECT * FROM sessions WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?',
        ...(createdAt === undefined ? [limit + 1] : [createdAt, id, limit + 1]),
      )
      .toArray()
    const items = rows.slice(0, limit)
    const last = items[items.length - 1]
    return {
      items: items.map((r) => JSON.parse(r.summary) as SessionSummary),
      nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
    }
  }
}
