import { watchdogVerdict, type SandboxWork, type WatchdogLimits } from './rules'

/** One piece of work on the sandbox; the watchdog marks it abandoned when it overruns, and it stops at its next step. */
export type Job = {
  work: SandboxWork
  startedAt: number
  abandoned: boolean
  /** sandboxes it created, killed if it is abandoned before it hands them over */
  made: Set<string>
  timer?: ReturnType<typeof setTimeout>
  /** frees the work slot when the job is abandoned while still awaiting */
  release(): void
}

export type Abandon = Extract<ReturnType<typeof watchdogVerdict>, { action: 'abandon' }>

/**
 * The one slot for work on a session's sandbox (provisioning, pausing, recovery, a fork's copy),
 * with a watchdog: a job past its limit is marked abandoned and handed to `abandon`, and the slot
 * is free once that is done, even if the job's own await never ends.
 */
export class WorkSlot {
  private working: Promise<unknown> | undefined

  constructor(
    private readonly limits: WatchdogLimits,
    private readonly abandon: (job: Job, verdict: Abandon) => Promise<void>,
    /** called each time the slot frees after a job */
    private readonly freed: (job: Job) => void,
    /** called as each job starts */
    private readonly began: (job: Job) => void = () => {},
  ) {}

  get busy(): boolean {
    return this.working !== undefined
  }

  /** Until the current work is over, abandoned or not. */
  async settled(): Promise<void> {
    await this.working
  }

  /** Starts `run` unless work is under way. */
  run(work: SandboxWork, run: (job: Job) => Promise<unknown>) {
    if (this.working) return
    let release = () => {}
    const abandoned = new Promise<void>((resolve) => (release = resolve))
    const job: Job = { work, startedAt: Date.now(), abandoned: false, made: new Set(), release }
    this.began(job)
    this.arm(job)
    // An abandoned job that comes back before the watchdog is done with it keeps the slot till then.
    const finished = run(job).finally(() => (job.abandoned ? abandoned : undefined))
    this.working = Promise.race([finished, abandoned]).finally(() => {
      clearTimeout(job.timer)
      this.working = undefined
      this.freed(job)
    })
  }

  /** Work another part brings (a fork's copy): it takes the slot, with no watchdog, until it is done. */
  hold<T>(work: () => Promise<T>): Promise<T> {
    const running = work()
    this.working = running.then(
      () => (this.working = undefined),
      () => (this.working = undefined),
    )
    return running
  }

  private arm(job: Job) {
    const verdict = watchdogVerdict({ work: job.work, startedAt: job.startedAt, now: Date.now(), limits: this.limits })
    if (verdict.action === 'wait') {
      job.timer = setTimeout(() => this.arm(job), verdict.remainingMs)
      return
    }
    job.abandoned = true
    void this.abandon(job, verdict).finally(() => job.release())
  }
}
