import type { Bindings } from '../env'
import { sandboxStatus, type PublicEvent, type SandboxState, type SandboxStatusExtra, type StepOf } from '../contracts'
import { errorMessage, log } from '../lib/log'
import type { RunSignal } from '../contracts'
import { runStub, tenantStub } from '../durable-objects'
import type { Settings } from '../config/settings'
import type { SessionUsage } from './usage/report'
import type { EventLog } from './log/event-log'
import { nextWake, type Wake } from './sandbox/rules'
import type { PendingRequests } from './agent/pending'
import { Neighbours } from '../lib/neighbours'
import type { Activity, SessionSignals } from './ports'
import type { SessionStore } from './store/session-store'

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
  readonly neighbours = new Neighbours<{ activity: Activity; checkpoints: { readonly held: boolean }; ports: { follow(state: SandboxState): void } }>()

  constructor(private readonly p: Parts) {}

  emit(ev: PublicEvent) {
    this.p.log.append(ev)
    this.p.usage.observe(ev)
    if (ev.type === 'error') this.tellRun({ kind: 'error', code: ev.data.code, message: ev.data.message })
  }

  sandboxState<S extends SandboxState>(state: S, step: StepOf<S>, extra?: SandboxStatusExtra) {
    this.emit(sandboxStatus(state, step, extra))
    this.neighbours.of.ports.follow(state)
  }

  touch() {
    this.p.store.update({ expires_at: new Date(Date.now() + this.p.settings.idleSeconds * 1000).toISOString() })
    // The alarm may be set for a periodic check past the new deadline.
    void this.scheduleWake()
  }

  /** When the session should next wake, and why (./lifecycle decides). */
  nextWake(): Wake | undefined {
    const { store, settings } = this.p
    if (!store.exists) return undefined
    const row = store.row
    const record = store.sandbox()
    return nextWake({
      now: Date.now(),
      expiresAt: Date.parse(row.expires_at),
      pendingDeadline: this.p.pending.nextDeadline(),
      active: (record !== undefined && !record.paused) || this.neighbours.of.activity.busy,
      paused: record?.paused === true,
      pausedAt: record?.pausedAt,
      endedAt: store.isOver() ? Date.parse(row.ended_at ?? row.updated_at) : undefined,
      leftover: store.isOver() && record !== undefined,
      pausedRetentionMs: settings.pausedRetentionSeconds * 1000,
      endedRetentionMs: settings.endedRetentionSeconds * 1000,
      wakeMs: settings.timings.wakeMs,
      unsent: this.p.usage.unsent(),
      checkpointed: this.neighbours.of.checkpoints.held,
    })
  }

  /**
   * Before an alarm's work: a wake in `wakeMs`, so that a handler that fails or is cut short (a
   * deploy, an alarm's 15 minutes) does not end the session's wakes; Cloudflare retries a failing
   * alarm six times at most. The work's own scheduleWake replaces it.
   */
  async holdWake() {
    await this.p.storage.setAlarm(Date.now() + this.p.settings.timings.wakeMs)
  }

  async scheduleWake() {
    const wake = this.nextWake()
    await (wake ? this.p.storage.setAlarm(wake.at) : this.p.storage.deleteAlarm())
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
