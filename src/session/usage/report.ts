import { Neighbours } from '../../lib/neighbours'
import type { PublicEvent, Usage } from '../../contracts'
import { tenantStub } from '../../durable-objects'
import type { Bindings } from '../../env'
import { dayOf } from '../../lib/days'
import { errorMessage, log, logEvent, tenantPrefix } from '../../lib/log'
import type { Settled } from '../../gateway/spend'
import { meterMode, sandboxReports, type MeterMode, type UsageReport } from '../../tenant/usage'

/** A sandbox's time is reported on the session's alarm once this much has gathered, so a long one shows up. */
const FLUSH_AFTER_MS = 60_000

type Owner = { id: string; tenant: string }

/** Reports sent to the tenant's index in one call, at most. */
const OUTBOX_BATCH = 100

/**
 * What one session tells its tenant's usage and the operator's log: that it (and its run) started, each turn
 * with its tokens, and its sandbox's running and paused seconds, metered from the sandbox states
 * it emits. The meter is kept in the session's own SQLite, so a restart loses no time; so is
 * every report, in an outbox, until the tenant's index has counted it (by its id, so a report
 * sent again after a restart or a failure counts once): none is lost, none counted twice.
 */
export class SessionUsage {
  private sending: Promise<boolean> | undefined

  /** `sql` holds the session's `usage_meter` (src/session/store/schema.ts). */
  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Bindings,
    private readonly owner: () => Owner | undefined,
  ) {}

  /** `wakes`: sets the session's alarm, which comes back for what a failed send left */
  readonly neighbours = new Neighbours<{ wakes: { scheduleWake(): Promise<void> } }>()

  /** The session started; a run's session starts its run, which counts as the run (by the run's id, as it always has). */
  started(runId?: string) {
    const day = dayOf(Date.now())
    this.report((s) => [
      { id: `${s.id}:start`, kind: 'session', day, counts: { sessions: 1 } },
      ...(runId ? [{ id: `${runId}:start`, kind: 'run' as const, day, counts: { runs: 1 } }] : []),
    ])
  }

  /**
   * A turn ended: it counts as a turn. Its tokens and cost are not taken from opencode's figure:
   * every model call the gateway carried (the turn's, its title's, its summaries', its
   * sub-agents') is reported as it is settled (callSettled), which is what the provider bills.
   */
  turnEnded(messageId: string) {
    this.report((s) => [{ id: `${s.id}:turn:${messageId}`, kind: 'turn', day: dayOf(Date.now()), counts: { turns: 1 } }])
  }

  /** One model call the gateway carried, as charged (`id`: its reservation, so it counts once). */
  callSettled(id: string, of: { provider: string; model?: string }, charged: Settled) {
    const inputTokens = charged.inputTokens + charged.cacheReadTokens + charged.cacheWriteTokens
    if (inputTokens === 0 && charged.outputTokens === 0 && charged.cost === 0) return
    const counts = { inputTokens, outputTokens: charged.outputTokens, cost: charged.cost }
    // a call settled without its answer (see settleStale) is of no known provider or model
    const call = { provider: of.provider || 'unknown', model: of.model ?? 'unknown', cacheReadTokens: charged.cacheReadTokens, cacheWriteTokens: charged.cacheWriteTokens }
    this.report((s) => [{ id: `${s.id}:call:${id}`, kind: 'call', day: dayOf(Date.now()), counts, call }])
  }

  /**
   * opencode's own figure for one assistant message (a sub-agent's too), kept beside the metered
   * bill, so that GET /v1/usage can show where the two differ.
   */
  opencodeCounted(messageId: string, figure: Usage) {
    if (figure.inputTokens === 0 && figure.outputTokens === 0 && figure.cost === 0) return
    this.report((s) => [{ id: `${s.id}:opencode:${messageId}`, kind: 'opencode', day: dayOf(Date.now()), counts: {}, opencode: figure }])
  }

  /** Every public event passes here: status changes are logged, sandbox states move the meter. */
  observe(ev: PublicEvent) {
    const s = this.owner()
    if (!s) return
    if (ev.type === 'session.status') {
      logEvent('session.status', { tenant: s.tenant, sessionId: s.id, status: ev.data.status, reason: ev.data.reason })
    } else if (ev.type === 'sandbox.status') {
      logEvent('sandbox.state', { tenant: s.tenant, sessionId: s.id, state: ev.data.state, reason: ev.data.reason })
      this.meter(meterMode(this.current().mode, ev.data.state))
    }
  }

  /**
   * On the session's alarm: time gathered so far is reported without waiting for the state to
   * end, and what the outbox holds is sent again. True when the outbox is empty.
   */
  async onAlarm(): Promise<boolean> {
    const { mode, since } = this.current()
    if (mode && Date.now() - since >= FLUSH_AFTER_MS) this.meter(mode)
    return this.send()
  }

  /** Whether reports wait in the outbox (the alarm is to come back for them). */
  unsent(): boolean {
    return this.sql.exec('SELECT 1 FROM usage_outbox LIMIT 1').toArray().length > 0
  }

  /**
   * Sends the outbox to the tenant's index, oldest first, and forgets each report once the index
   * has it. One send at a time; a report added meanwhile goes with the next batch. True when
   * the outbox is empty; a failed send leaves the rest for the alarm.
   */
  send(): Promise<boolean> {
    this.sending ??= this.drain().finally(() => (this.sending = undefined))
    return this.sending
  }

  private async drain(): Promise<boolean> {
    for (;;) {
      const rows = this.sql.exec<{ id: string; tenant: string; report: string }>('SELECT id, tenant, report FROM usage_outbox ORDER BY rowid LIMIT ?', OUTBOX_BATCH).toArray()
      if (rows.length === 0) return true
      const tenant = rows[0]!.tenant
      const batch = rows.filter((r) => r.tenant === tenant)
      try {
        await tenantStub(this.env, tenant).recordUsage(tenant, batch.map((r) => JSON.parse(r.report) as UsageReport))
      } catch (err) {
        log('warn', 'usage report not acknowledged; kept to send again', { tenant: tenantPrefix(tenant), err: errorMessage(err) })
        void this.neighbours.of.wakes.scheduleWake()
        return false
      }
      for (const r of batch) this.sql.exec('DELETE FROM usage_outbox WHERE id = ?', r.id)
    }
  }

  private current(): { mode: MeterMode; since: number } {
    return this.sql.exec<{ mode: MeterMode; since: number }>('SELECT mode, since FROM usage_meter').toArray()[0] ?? { mode: null, since: 0 }
  }

  /** Reports the time since the last report in the mode it was in, and goes on in `next` from now. */
  private meter(next: MeterMode) {
    const { mode, since } = this.current()
    const now = Date.now()
    this.sql.exec('INSERT OR REPLACE INTO usage_meter (one, mode, since) VALUES (0, ?, ?)', next, now)
    if (mode) this.report((s) => sandboxReports(`${s.id}:sandbox`, mode, since, now))
  }

  private report(reports: (s: Owner) => UsageReport[]) {
    const s = this.owner()
    if (!s) return
    for (const r of reports(s)) this.sql.exec('INSERT OR IGNORE INTO usage_outbox (id, tenant, report) VALUES (?, ?, ?)', r.id, s.tenant, JSON.stringify(r))
    void this.send()
  }
}
