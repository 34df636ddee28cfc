import { Neighbours } from '../../lib/neighbours'
import { errorMessage, log, logEvent } from '../../lib/log'
import { sleep } from '../../lib/sleep'
import { waitForOpencode } from '../../opencode/client'
import { SandboxError } from '../../sandbox/provider'
import type { SandboxRecord } from '../../sandbox/record'
import { event, type StepOf } from '../../contracts'
import type { LinkEnd } from '../agent/link'
import { expiry, idleDecision, linkEndReason, needsKeepAlive, pauseRetryDelayMs, recoveryDecision, runLimitDue, sandboxTimeoutMs, wantsSandbox } from './rules'
import type { RecoveryAction } from './rules'
import { Provisioning } from './provisioning'
import { WorkSlot, type Abandon, type Job } from './work-slot'
import { probeAgent, watchGone } from './agent-checks'
import { extendTimeout, runPauseFor } from './keep-alive'
import type { LifecycleParts } from './lifecycle-parts'
import { provision, type BringUpHost } from './bring-up'

/**
 * The session's sandbox through its life: made (or taken warm), watched, recovered after a gap,
 * paused when idle and resumed for the next message, kept alive at the provider, and given up
 * when gone. Work on it runs one at a time; what to do when is decided in ./lifecycle.
 */
export class SandboxLifecycle {
  /** provisioning, pausing or recovery under way; one at a time */
  private readonly slot: WorkSlot
  /** the last provisioning was abandoned by the watchdog: only a new message tries again */
  private held = false
  /** pauses that failed in a row, and when the next may be tried */
  private pauseFailures = 0
  private pauseRetryAt = 0
  /** sandboxes being made, recorded the moment each exists */
  private readonly provisioning: Provisioning
  /** who waits for the start under way to say the session is ready (untilReady) */
  private readonly readyWaiters: (() => void)[] = []

  /** `ending`: the session cannot go on (its sandbox could not be made) and fails */
  readonly neighbours = new Neighbours<{ ending: { fail(err: unknown): Promise<void> } }>()
  private readonly bringUpHost: BringUpHost = {
    stopped: (job) => this.stopped(job),
    abandon: (record) => this.abandon(record),
    fail: (err) => this.neighbours.of.ending.fail(err),
    ready: () => this.heardReady(),
  }

  constructor(private readonly p: LifecycleParts) {
    this.provisioning = new Provisioning(p.store, p.provider)
    // A line as each piece of work starts and stops, so an operator (and a test) can tell when work
    // under way when the session ended has stopped: nothing it began happens after its last line.
    const workLine = (job: Job, state: string) =>
      logEvent('sandbox.work', { sessionId: p.store.maybe?.id, work: job.work, state, over: p.store.exists && p.store.isOver() })
    this.slot = new WorkSlot(
      p.settings.watchdog,
      (job, verdict) => this.giveUp(job, verdict),
      (job) => {
        this.heardReady()
        workLine(job, job.abandoned ? 'abandoned' : 'ended')
        if (p.store.exists && !p.store.isOver() && p.queue.waiting() > 0) this.ensureRunning()
      },
      (job) => workLine(job, 'started'),
    )
  }

  get busy(): boolean {
    return this.slot.busy
  }

  /** Brings the session to where it should be: a sandbox, an agent, a live link. Idempotent. `message`: a new message asks for it. */
  ensureRunning(cause?: 'message') {
    const { store, connection } = this.p
    if (cause === 'message') this.held = false
    if (!store.exists || store.isOver() || this.slot.busy) return
    const record = store.sandbox()
    if (record && connection.linked) return
    if (
      (!record || record.paused) &&
      !wantsSandbox({ now: Date.now(), expiresAt: Date.parse(store.row.expires_at), hasWork: this.p.queue.waiting() > 0, held: this.held })
    )
      return
    if (!record) this.slot.run('provision', (job) => provision(this.p, this.provisioning, this.bringUpHost, job))
    else this.slot.run('recover', (job) => (record.paused ? this.resume(job, record) : this.recover(job, 'reconnecting')))
    void this.p.signals.scheduleWake()
  }

  /**
   * Until the start under way has said the session is ready, or has ended without: a warm start
   * says so as it takes its sandbox, so its create can answer `idle`.
   */
  untilReady(): Promise<void> {
    return this.slot.busy ? new Promise((resolve) => this.readyWaiters.push(resolve)) : Promise.resolve()
  }

  private heardReady() {
    for (const resolve of this.readyWaiters.splice(0)) resolve()
  }

  /** Work of another part on a sandbox it brings (a fork's copy): no provisioning or recovery starts meanwhile. */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    return this.slot.hold(work)
  }

  /** On the session's alarm: pause an idle sandbox, keep a wanted one alive at the provider, or check on it. */
  async wake() {
    const { store, turns, queue } = this.p
    const now = Date.now()
    const expiresAt = Date.parse(store.row.expires_at)
    const record = store.sandbox()
    const working = turns.running || this.slot.busy
    const decision = idleDecision({
      now,
      expiresAt,
      busy: working || queue.waiting() > 0,
      onlyWaiting: !working,
      hasSandbox: record !== undefined && !record.paused,
      clients: this.p.watchers(),
      runPauseAt: runPauseFor(this.p.settings.e2bLimits, record),
    })
    if (decision.action === 'pause' && now >= this.pauseRetryAt) {
      // One at a time with provisioning and recovery: a message arriving mid-pause resumes after it.
      this.slot.run('recover', (job) => this.pause(job, decision.reason))
      await this.slot.settled()
      return
    }
    if (record && !record.paused && needsKeepAlive({ now, expiresAt, deadline: record.deadline })) await extendTimeout(this.p, record, now, expiresAt)
    // Sandboxes being made stay alive through a long setup; with no work under way, any recorded is left from before a restart.
    await (this.slot.busy ? this.provisioning.keepAlive(this.timeout()) : this.provisioning.reap())
    // A live link watches the agent itself (heartbeats); without one, ensureRunning probes and recovers.
    this.ensureRunning()
  }

  /**
   * The sandbox nears the provider's run limit: no turn starts in it until it has been paused and
   * resumed. Not while a pause that failed waits to be tried again: the turns go on meanwhile.
   */
  get runLimitDue(): boolean {
    const record = this.p.store.sandbox()
    const now = Date.now()
    return record !== undefined && !record.paused && now >= this.pauseRetryAt && runLimitDue({ now, runPauseAt: runPauseFor(this.p.settings.e2bLimits, record) })
  }

  /**
   * A turn ended with the run limit near: the sandbox is paused now (its checkpoint saved first),
   * not at the next wake, and messages waiting resume it (see the slot's `freed`).
   */
  pauseForRunLimit() {
    if (!this.runLimitDue || this.p.turns.running) return
    this.slot.run('recover', (job) => this.pause(job, 'run_limit'))
  }

  /** A client asked to keep the session: its sandbox's provider timeout moves with the deadline. */
  async keepalive() {
    const record = this.p.store.sandbox()
    if (record && !record.paused) await extendTimeout(this.p, record, Date.now(), Date.parse(this.p.store.row.expires_at))
    this.ensureRunning()
  }

  /** A read of a paused sandbox's workspace brings it back first, as a keepalive does, so the session's state stays true. */
  async awake() {
    if (!this.p.store.sandbox()?.paused) return
    this.p.signals.touch()
    this.ensureRunning()
    await this.slot.settled()
  }

  /** The running sandbox, brought back or made first when the session wants one (as a keepalive would); none when it could not be. */
  async running(): Promise<SandboxRecord | undefined> {
    this.p.signals.touch()
    this.ensureRunning()
    await this.slot.settled()
    const record = this.p.store.sandbox()
    return record && !record.paused ? record : undefined
  }

  /** The link to the agent ended without our closing it (or its sandbox said the agent exited). */
  dropped(end: LinkEnd) {
    if (this.p.store.isOver()) return
    log('warn', 'agent stream ended', { sessionId: this.p.store.maybe?.id, reason: end.reason })
    this.slot.run('recover', (job) => this.recover(job, linkEndReason(end)))
  }

  /**
   * A paused sandbox is past its retention (PAUSED_RETENTION_SECONDS): with the session's work in
   * a checkpoint, the sandbox goes and the session stays for the next message to restore;
   * answers whether it did (else the session ends).
   */
  async hibernate(): Promise<boolean> {
    const { store, signals } = this.p
    const record = store.sandbox()
    if (!store.exists || store.isOver()) return false
    // Brought back meanwhile (a message resumes it): in use, not expired.
    if (this.slot.busy) return true
    if (expiry({ paused: record?.paused === true, checkpointed: this.p.checkpoints.held }) === 'end') return false
    await this.killLeftover()
    // A kill that failed leaves the session to end as before, its kill tried again at each wake.
    if (store.sandbox()) return false
    store.update({ agent_session_id: null })
    this.p.events.forget()
    signals.sandboxState('stopped', 'hibernated')
    return true
  }

  /** The session is over: its sandbox goes, and with it the link. */
  async stop(step: StepOf<'stopped'>) {
    const { store, connection, events } = this.p
    const record = store.sandbox()
    connection.close()
    this.p.terminals.closeAll('ended')
    events.forget()
    // A provisioning under way kills what it made as it stops; with none, what a restart left goes.
    if (!this.slot.busy) await this.provisioning.reap()
    if (!record) return
    store.update({ agent_session_id: null })
    await this.killLeftover()
    this.p.signals.sandboxState('stopped', step)
  }

  /**
   * Kills the ended session's sandbox. Its record stays until the provider confirms, so a kill
   * that failed (the provider unreachable for a moment) is tried again at the session's next wake
   * instead of leaving a sandbox running with nobody to end it.
   */
  async killLeftover() {
    const record = this.p.store.sandbox()
    if (!record) return
    try {
      await this.p.provider.kill(record.sandboxId)
      this.p.store.saveSandbox(null)
    } catch (err) {
      if (err instanceof SandboxError && err.code === 'not_found') return this.p.store.saveSandbox(null)
      log('warn', 'sandbox kill failed', { sessionId: this.p.store.maybe?.id, err: errorMessage(err) })
    }
  }

  /**
   * The job hangs past its watchdog: whatever it made and the sandbox it worked on are killed,
   * the session hears why and goes on without a sandbox; the job, should its await ever end,
   * stops at its next step.
   */
  private async giveUp(job: Job, verdict: Abandon) {
    const { store, provider, signals } = this.p
    log('warn', 'sandbox work abandoned', { sessionId: store.maybe?.id, work: job.work })
    for (const sandboxId of job.made) await provider.kill(sandboxId).catch(() => {})
    if (store.exists && !store.isOver()) {
      this.held = verdict.hold
      signals.emit(event('error', { code: verdict.code, message: verdict.message }))
      await this.lose('timed_out', verdict.message)
    }
  }

  /** The session ended, or the watchdog gave the job up: its work stops here. */
  private stopped(job: Job): boolean {
    return job.abandoned || this.p.store.isOver()
  }

  /**
   * The link to the agent is gone (its stream ended, a health check failed, or this object
   * restarted): find out why, and reconnect, restart the agent, or give the sandbox up.
   */
  private async recover(job: Job, reason: string): Promise<RecoveryAction['action']> {
    const record = this.p.store.sandbox()
    if (!record) return 'replace_sandbox'
    try {
      for (let attempt = 1; ; attempt++) {
        const probe = await probeAgent(this.p, record)
        if (this.stopped(job)) {
          await this.abandon(record)
          return 'replace_sandbox'
        }
        const decision = recoveryDecision(probe, attempt)
        if (decision.action === 'retry') await sleep(decision.delayMs)
        else if (decision.action === 'resume') await this.p.provider.resume(record.sandboxId, this.timeout())
        else if (decision.action === 'replace_sandbox') await this.lose('gone', reason)
        else if (decision.action === 'restart_agent') await this.restartAgent(job, record, probe.exit ?? reason)
        else await this.p.connection.reattach(record, false)
        if (decision.action !== 'retry' && decision.action !== 'resume') return decision.action
      }
    } catch (err) {
      if (!job.abandoned) await this.lose('unrecoverable', `${reason}; recovery failed: ${errorMessage(err)}`)
      return 'replace_sandbox'
    }
  }

  private timeout(): number {
    return sandboxTimeoutMs(Date.now(), Date.parse(this.p.store.row.expires_at))
  }

  /** Idle: the sandbox stops where it stands, for the next message to resume it as it was. */
  private async pause(job: Job, step: StepOf<'paused'>) {
    const { store, connection } = this.p
    const record = store.sandbox()
    if (!record || record.paused) return
    // What the workspace and the agent hold now is kept, should the paused sandbox never come back.
    await this.p.checkpoints.save(null)
    if (job.abandoned || store.isOver()) return
    connection.close()
    this.p.terminals.closeAll('paused')
    // Recorded first: a pause cut short leaves a sandbox that the resume finds running, which is fine.
    store.saveSandbox({ ...record, paused: true, pausedAt: Date.now() })
    try {
      await this.p.provider.pause(record.sandboxId)
    } catch (err) {
      if (job.abandoned) return
      if (err instanceof SandboxError && err.code === 'not_found') return this.lose('gone', 'the sandbox was gone when it was to be paused')
      // Not paused is not said to be: the sandbox stays ready and the pause is tried again later.
      this.pauseFailures++
      this.pauseRetryAt = Date.now() + pauseRetryDelayMs(this.pauseFailures, this.p.settings.timings.pauseRetryMs)
      log('warn', 'sandbox pause failed', { sessionId: store.maybe?.id, err: errorMessage(err) })
      store.saveSandbox({ ...record, paused: false })
      this.p.signals.emit(event('error', { code: 'sandbox_pause_failed', message: `the idle sandbox could not be paused: ${errorMessage(err)}` }))
      await this.recover(job, 'a pause failed')
      return
    }
    if (job.abandoned) return
    this.pauseFailures = 0
    this.p.signals.sandboxState('paused', step)
  }

  /** Brings a paused sandbox back, then checks its agent as after any gap: reconnect, restart, or replace. */
  private async resume(job: Job, record: SandboxRecord) {
    const { signals, store } = this.p
    signals.sandboxState('starting', 'resuming')
    const timeoutMs = this.timeout()
    try {
      await this.p.provider.resume(record.sandboxId, timeoutMs)
    } catch (err) {
      if (job.abandoned) return
      const gone = err instanceof SandboxError && err.code === 'not_found'
      return gone ? this.lose('gone', 'the paused sandbox is gone') : this.lose('resume_failed', `the paused sandbox could not be resumed: ${errorMessage(err)}`)
    }
    if (this.stopped(job)) return this.abandon(record)
    store.saveSandbox({ ...record, paused: false, deadline: Date.now() + timeoutMs, runningSince: Date.now() })
    await signals.scheduleWake()
    if ((await this.recover(job, 'resumed')) === 'resubscribe' && !this.stopped(job)) signals.sandboxState('ready', 'resumed')
  }

  /** opencode died in a live sandbox: start it again on the same workspace and carry on. */
  private async restartAgent(job: Job, record: SandboxRecord, reason: string) {
    this.p.signals.sandboxState('restarting', 'agent_stopped', { detail: reason })
    const endpoint = await this.p.provider.startOpencode(record.sandboxId, { cwd: record.workdir, runtime: this.p.store.spec().runtime })
    const restarted = { ...record, endpoint }
    if (this.stopped(job)) return this.abandon(restarted)
    this.p.store.saveSandbox(restarted)
    // A sandbox killed whole may report its agent's exit before it reports itself gone: the wait
    // for the new agent ends as soon as the sandbox is, and the sandbox is then given up.
    const watch = watchGone(this.p.provider, record.sandboxId)
    try {
      await Promise.race([waitForOpencode(endpoint, record.password, { stopped: () => this.stopped(job) || watch.gone }), watch.lost])
    } finally {
      watch.stop()
    }
    if (this.stopped(job)) return this.abandon(restarted)
    // An agent whose data went with it gets the conversation back: opencode's from the last checkpoint, another's as a transcript.
    const imported = await this.p.checkpoints.recallAgent(restarted, this.p.store.row.agent_session_id).catch((err: unknown) => {
      log('warn', 'agent record not checked', { sessionId: this.p.store.maybe?.id, err: errorMessage(err) })
      return undefined
    })
    if (this.stopped(job)) return this.abandon(restarted)
    const transcript = await this.p.connection.reattach(restarted, true)
    if (this.stopped(job)) return this.abandon(restarted)
    const memory = imported ?? transcript
    this.p.signals.sandboxState('ready', 'agent_restarted', memory && { memory })
  }

  /**
   * The session ended, or the watchdog gave the work up, while it awaited something: what the
   * work made or brought back is killed (the end's own stop may have run before it was
   * recorded), and nothing is said. A later provisioning's sandbox and link are not its to touch.
   */
  private async abandon(record: SandboxRecord) {
    const current = this.p.store.sandbox()
    if (!current || current.sandboxId === record.sandboxId) {
      this.p.connection.close()
      if (current) this.p.store.saveSandbox(null)
    }
    await this.p.provider.kill(record.sandboxId).catch(() => {})
  }

  /** The sandbox is gone: say so, fail the running turn, and start afresh on the next message. */
  private async lose(step: StepOf<'lost'>, reason: string) {
    const { store, connection, human, signals, status, turns, events } = this.p
    const record = store.sandbox()
    connection.close()
    this.p.terminals.closeAll('lost')
    store.saveSandbox(null)
    store.update({ agent_session_id: null })
    human.resolveAll('lost')
    signals.sandboxState('lost', step, { detail: reason })
    if (record) await this.p.provider.kill(record.sandboxId).catch(() => {})
    turns.adoptRunning()
    if (!turns.step(undefined, { kind: 'sandbox_lost', reason })) status.report({ kind: 'no_turn' })
    events.forget()
  }
}
