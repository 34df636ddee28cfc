import type { Bindings } from '../env'
import { event, type PublicEvent, type SandboxState, type SessionStatus } from '../contracts'
import { errorMessage, log } from '../lib/log'
import type { RunSignal } from '../contracts'
import { runStub, tenantStub } from '../durable-objects'
import type { Settings } from '../settings'
import type { SessionUsage } from '../tenant/usage-report'
import type { EventLog } from './event-log'
import { nextWakeAt } from './lifecycle'
import type { PendingRequests } from './pending'
import type { SessionSignals } from './ports'
import type { SessionStore } from './session-store'

type Parts = {
  env: Bindings
  settings: Settings
  storage: DurableObjectStorage
  store: SessionStore
  log: EventLog
  usage: SessionUsage
  pending: PendingRequests
}

/**
 * What the session says about itself, and to whom: every public event to its log (and so its
 * clients) and usage meter, errors and the turns' ends to its run, its summary to its tenant's
 * index, and when it next wants to wake to its alarm.
 */
export class Signals implements SessionSignals {
  constructor(private readonly p: Parts) {}

  emit(ev: PublicEvent) {
    this.p.log.append(ev)
    this.p.usage.observe(ev)
    if (ev.type === 'error') this.tellRun({ kind: 'error', code: ev.data.code, message: ev.data.message })
  }

  setStatus(status: SessionStatus, reason?: string) {
    if (this.p.store.row.status === status) return
    this.p.store.update({ status })
    this.emit(event('session.status', { status, ...(reason && { reason }) }))
    void this.syncIndex()
  }

  sandboxState(state: SandboxState, reason?: string) {
    this.emit(event('sandbox.status', { state, ...(reason && { reason }) }))
  }

  touch() {
    this.p.store.update({ expires_at: new Date(Date.now() + this.p.settings.idleSeconds * 1000).toISOString() })
    // The alarm may be set for a periodic check past the new deadline.
    void this.scheduleWake()
  }

  async scheduleWake() {
    const { store, storage } = this.p
    // A paused sandbox needs no looking after; a message or a keepalive resumes it.
    if (!store.exists || store.isOver() || store.sandbox()?.paused) return storage.deleteAlarm()
    await storage.setAlarm(nextWakeAt(Date.now(), Date.parse(store.row.expires_at), this.p.pending.nextDeadline()))
  }

  async syncIndex() {
    await this.tenantIndex()
      .upsert(this.p.store.summary())
      .catch((err: unknown) => log('warn', 'tenant index update failed', { err: errorMessage(err) }))
  }

  tenantIndex(tenant = this.p.store.row.tenant) {
    return tenantStub(this.p.env, tenant)
  }

  /** A background run's session reports to its run; an interactive one has no run to tell. */
  tellRun(sig: RunSignal) {
    const runId = this.p.store.exists ? this.p.store.spec().runId : undefined
    if (!runId) return
    runStub(this.p.env, runId)
      .signal(sig).catch((err: unknown) => log('warn', 'run signal failed', { runId, err: errorMessage(err) }))
  }
}
