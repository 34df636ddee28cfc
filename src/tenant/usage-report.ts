import type { PublicEvent, Usage } from '../contracts'
import { tenantStub } from '../durable-objects'
import type { Bindings } from '../env'
import { dayOf } from '../lib/days'
import { errorMessage, log, logEvent, tenantPrefix } from '../lib/log'
import { meterMode, sandboxReports, type MeterMode, type UsageReport } from './usage'

/** A sandbox's time is reported on the session's alarm once this much has gathered, so a long one shows up. */
const FLUSH_AFTER_MS = 60_000

/** Sends reports to the tenant's index without waiting: usage must never hold up a session or a run. */
export function reportUsage(env: Bindings, tenant: string, reports: UsageReport[]) {
  if (reports.length === 0) return
  tenantStub(env, tenant)
    .recordUsage(tenant, reports)
    .catch((err: unknown) => log('warn', 'usage report failed', { tenant: tenantPrefix(tenant), err: errorMessage(err) }))
}

type Owner = { id: string; tenant: string }

/**
 * What one session tells its tenant's usage and the operator's log: that it started, each turn
 * with its tokens, and its sandbox's running and paused seconds, metered from the sandbox states
 * it emits. The meter is kept in the session's own SQLite, so a restart loses no time.
 */
export class SessionUsage {
  /** `sql` holds the session's `usage_meter` (src/session/schema.ts). */
  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Bindings,
    private readonly owner: () => Owner | undefined,
  ) {}

  started() {
    this.report((s) => [{ id: `${s.id}:start`, kind: 'session', day: dayOf(Date.now()), counts: { sessions: 1 } }])
  }

  turnEnded(messageId: string, usage: Usage) {
    const counts = { turns: 1, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cost: usage.cost }
    this.report((s) => [{ id: `${s.id}:turn:${messageId}`, kind: 'turn', day: dayOf(Date.now()), counts }])
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

  /** On the session's alarm: time gathered so far is reported without waiting for the state to end. */
  flush() {
    const { mode, since } = this.current()
    if (mode && Date.now() - since >= FLUSH_AFTER_MS) this.meter(mode)
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
    if (s) reportUsage(this.env, s.tenant, reports(s))
  }
}
