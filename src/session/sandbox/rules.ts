/**
 * Pure decisions about a session's sandbox over time; the Durable Object carries them out.
 * `now` is passed in so each rule is a table in its tests.
 */

import type { StepOf } from '../../contracts'
import { forgetAt } from '../../lib/retention'
import { SANDBOX_GRACE_MS } from '../../sandbox/timeouts'
import type { LinkEnd } from '../agent/link'

export type IdleInput = {
  now: number
  expiresAt: number
  /** a turn is running or messages are waiting */
  busy: boolean
  /** of `busy`: only messages waiting, no turn running (nor work on the sandbox) */
  onlyWaiting?: boolean
  hasSandbox: boolean
  /** connected SSE clients */
  clients: number
  /** when the sandbox must be paused ahead of the provider's run limit (E2B_MAX_RUN_SECONDS), if it has one */
  runPauseAt?: number
}

export type IdleDecision = { action: 'pause'; reason: StepOf<'paused'> } | { action: 'keep'; reason: string }

/**
 * A sandbox costs money while it runs. It is paused (memory and disk kept) once the idle
 * deadline has passed with no work to do; a connected client alone does not hold it (keepalive
 * does), so a forgotten tab cannot keep a sandbox running forever.
 */
export function idleDecision(s: IdleInput): IdleDecision {
  if (!s.hasSandbox) return { action: 'keep', reason: 'no sandbox' }
  // Between turns, ahead of E2B ending it: a pause and a resume start the run afresh. Messages
  // waiting do not hold it (they run once it is resumed), lest a busy queue meet the limit mid-turn.
  if (runLimitDue(s) && (!s.busy || s.onlyWaiting)) return { action: 'pause', reason: 'run_limit' }
  if (s.busy) return { action: 'keep', reason: 'working' }
  if (s.now < s.expiresAt) return { action: 'keep', reason: 'not idle long enough' }
  return { action: 'pause', reason: 'idle' }
}

/** The sandbox is to be paused ahead of the provider's run limit: no new turn starts in it before. */
export function runLimitDue(s: { now: number; runPauseAt?: number }): boolean {
  return s.runPauseAt !== undefined && s.now >= s.runPauseAt
}

/**
 * Whether a session without a running sandbox (`held`: its last provisioning was abandoned by the
 * watchdog, and only a new message tries again) (none yet, lost, or paused) should get one now:
 * for work (a message waiting), or because it is in use (created or kept alive since its last
 * idle deadline). A client merely watching the stream does not count, or a tab left open would
 * bring a sandbox back only for the next alarm to pause it again.
 */
export function wantsSandbox(s: { now: number; expiresAt: number; hasWork: boolean; held?: boolean }): boolean {
  if (s.held) return false
  return s.hasWork || s.now < s.expiresAt
}

/** The provider timeout a sandbox should have now: through the idle deadline, plus the grace. */
export function sandboxTimeoutMs(now: number, expiresAt: number): number {
  return Math.max(expiresAt - now, 0) + SANDBOX_GRACE_MS
}

/**
 * Whether to extend the provider's timeout now. `deadline` is when the provider will end the
 * sandbox as far as we know (unknown for a sandbox from the warm pool). Extending only once the
 * deadline falls half a grace short of what it should be keeps a long turn alive with one call
 * every few minutes instead of one per alarm.
 */
export function needsKeepAlive(s: { now: number; expiresAt: number; deadline: number | undefined }): boolean {
  if (s.deadline === undefined) return true
  return s.deadline - s.now < sandboxTimeoutMs(s.now, s.expiresAt) - SANDBOX_GRACE_MS / 2
}

/**
 * The next alarm: the idle deadline, a pending request's deadline or the periodic check (every
 * `wakeMs`, TIMINGS), whichever comes first. A deadline already passed (a turn running past it)
 * leaves only the periodic check, and the end of that turn counts as activity anyway.
 */
export function nextWakeAt(now: number, expiresAt: number, pendingDeadline: number | undefined, wakeMs: number): number {
  const idleDeadline = expiresAt > now ? expiresAt : Infinity
  return Math.max(now + 1_000, Math.min(idleDeadline, pendingDeadline ?? Infinity, now + wakeMs))
}

export type WakeInput = {
  now: number
  expiresAt: number
  pendingDeadline?: number
  /** a running sandbox, a turn, a queued message, or work on the sandbox under way */
  active: boolean
  paused: boolean
  pausedAt?: number
  /** when the session ended or failed */
  endedAt?: number
  /** an ended session's sandbox whose kill has not been confirmed yet */
  leftover?: boolean
  pausedRetentionMs: number
  endedRetentionMs: number
  /** the periodic check's interval (TIMINGS wakeMs) */
  wakeMs: number
  /** usage reports wait in the outbox, unacknowledged */
  unsent?: boolean
  /** a checkpoint holds the session's work: a sandbox may go, the session stays (hibernates) */
  checkpointed?: boolean
}

/**
 * What a paused session past its retention comes to: with a checkpoint of its work, its sandbox
 * goes and the session stays, hibernated, for the next message to restore; without one, it ends.
 * A session with a checkpoint and no sandbox at its retention's end ends too.
 */
export function expiry(s: { paused: boolean; checkpointed: boolean }): 'hibernate' | 'end' {
  return s.paused && s.checkpointed ? 'hibernate' : 'end'
}

/**
 * Why the session wakes: to look after its sandbox, to end a paused session kept too long, to
 * delete an ended one, to kill an ended one's sandbox again, to send its usage reports again.
 */
export type WakeReason = 'look_after' | 'expire' | 'forget' | 'kill_leftover' | 'send_usage'
export type Wake = { at: number; why: WakeReason }

/**
 * When the session's alarm should next go off, if at all. A session with something to look
 * after wakes as nextWakeAt says; a paused one only when its retention is up; an ended one when
 * its storage is to go, or every `wakeMs` while its sandbox's kill is unconfirmed; one with no sandbox and nothing to do not at all: the next request
 * wakes it. Unsent usage reports bring the alarm back every `wakeMs`, and keep an ended
 * session's storage until they are sent.
 */
export function nextWake(s: WakeInput): Wake | undefined {
  const wake = plannedWake(s)
  if (!s.unsent) return wake
  const retry = { at: s.now + s.wakeMs, why: 'send_usage' as const }
  return wake && wake.why !== 'forget' && wake.at <= retry.at ? wake : retry
}

/**
 * Which reason an alarm answers, given the wake planned now. Retention (forget, expire) acts only
 * once its time has come: an alarm before it (the hold a handler left) looks after the session as
 * usual. An unconfirmed kill is tried again at every alarm, as its wake is always one period off.
 */
export function wakeReason(planned: Wake | undefined, now: number): WakeReason {
  if (!planned) return 'look_after'
  if (planned.why === 'forget' || planned.why === 'expire') return planned.at <= now ? planned.why : 'look_after'
  return planned.why
}

function plannedWake(s: WakeInput): Wake | undefined {
  if (s.endedAt !== undefined) {
    return s.leftover ? { at: s.now + s.wakeMs, why: 'kill_leftover' } : { at: forgetAt(s.endedAt, s.endedRetentionMs), why: 'forget' }
  }
  if (s.active || s.pendingDeadline !== undefined || (!s.paused && s.now < s.expiresAt)) {
    return { at: nextWakeAt(s.now, s.expiresAt, s.pendingDeadline, s.wakeMs), why: 'look_after' }
  }
  if (s.paused) return { at: (s.pausedAt ?? s.expiresAt) + s.pausedRetentionMs, why: 'expire' }
  // Hibernated (or lost) with its work in a checkpoint: kept as long as an ended session's storage, from its last activity.
  if (s.checkpointed) return { at: forgetAt(s.expiresAt, s.endedRetentionMs), why: 'expire' }
  return undefined
}

/** Why a session recovers, in the words its events and logs give: the process's own when it exited. */
export function linkEndReason(end: LinkEnd): string {
  if (end.reason === 'exited') return end.detail ?? 'the agent process exited'
  return `the agent event stream ${end.reason === 'silent' ? 'went silent' : 'ended'}`
}

/** What a probe of a sandbox whose event stream ended found. */
export type SandboxProbe = {
  /** opencode answered its health route */
  agentHealthy: boolean
  /** what the provider says of the sandbox */
  sandbox: 'running' | 'agent_exited' | 'paused' | 'gone' | 'unknown'
}

export type RecoveryAction =
  | { action: 'resubscribe' }
  | { action: 'restart_agent' }
  | { action: 'replace_sandbox' }
  | { action: 'resume' }
  | { action: 'retry'; delayMs: number }

/** Probes before an unresponsive agent is restarted, or an unreachable sandbox given up. */
export const MAX_RECOVERY_ATTEMPTS = 5

/**
 * After the event stream ends: a healthy agent only lost its connection; an agent that exited
 * is restarted where it was; a paused sandbox is resumed (someone else paused it, or our pause
 * was cut short); a gone sandbox is replaced on the next message. Anything unclear
 * is probed again with backoff, then treated as the worse case.
 */
export function recoveryDecision(probe: SandboxProbe, attempt: number): RecoveryAction {
  if (probe.agentHealthy) return { action: 'resubscribe' }
  if (probe.sandbox === 'gone') return { action: 'replace_sandbox' }
  if (probe.sandbox === 'paused') return attempt >= MAX_RECOVERY_ATTEMPTS ? { action: 'replace_sandbox' } : { action: 'resume' }
  if (probe.sandbox === 'agent_exited') return { action: 'restart_agent' }
  if (attempt >= MAX_RECOVERY_ATTEMPTS) return { action: probe.sandbox === 'running' ? 'restart_agent' : 'replace_sandbox' }
  return { action: 'retry', delayMs: Math.min(250 * 2 ** (attempt - 1), 4_000) }
}

/**
 * A pause that failed is tried again later, `baseMs` (TIMINGS pauseRetryMs, 30 s) after the first
 * failure, doubling with each further one, at most every 10 minutes.
 */
export function pauseRetryDelayMs(failures: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** (failures - 1), 10 * 60_000)
}

/** Attempts at creating a sandbox before the session is failed. */
export const MAX_PROVISION_ATTEMPTS = 3
/**
 * Attempts when the provider rate-limits creates (E2B: 1 a second on Hobby, 5 on Pro): a burst of
 * new sessions spreads out over about a minute instead of failing.
 */
export const MAX_RATE_LIMITED_ATTEMPTS = 7

/** Why a create failed, as far as retrying goes. */
export type CreateFailure = 'transient' | 'rate_limited' | 'permanent'

/**
 * A sandbox that could not be created is tried again only when the failure was transient: 1 s,
 * then 2 s. A rate limit backs off longer, doubling from 1 s up to 16 s, each delay spread by up
 * to half again (`jitter`, 0 to 1), so sessions refused together do not all come back together.
 */
export function provisionRetry(failure: CreateFailure, attempt: number, jitter = 0): { retry: true; delayMs: number } | { retry: false } {
  if (failure === 'permanent') return { retry: false }
  if (failure === 'transient') return attempt >= MAX_PROVISION_ATTEMPTS ? { retry: false } : { retry: true, delayMs: 1_000 * 2 ** (attempt - 1) }
  if (attempt >= MAX_RATE_LIMITED_ATTEMPTS) return { retry: false }
  const base = 1_000 * 2 ** Math.min(attempt - 1, 4)
  return { retry: true, delayMs: Math.round(base * (1 + jitter / 2)) }
}

/** Background work on the sandbox, each kind under its own watchdog. Resume and pause count as recovery. */
export type SandboxWork = 'provision' | 'recover'

export type WatchdogLimits = { provisionMs: number; recoverMs: number }

export type WatchdogVerdict =
  | { action: 'wait'; remainingMs: number }
  | {
      action: 'abandon'
      code: 'sandbox_timeout'
      message: string
      /**
       * Provisioning that hung is not tried again until a new message asks for it: the same
       * setup would most likely hang again, holding a sandbox for nothing. After a recovery
       * that hung, the sandbox is given up and queued work gets a new one as after any loss.
       */
      hold: boolean
    }

/**
 * The watchdog over work on the sandbox: past its limit the work is abandoned whatever it
 * awaits (what it made is killed, the sandbox given up), the session hears why, and goes on.
 */
export function watchdogVerdict(s: { work: SandboxWork; startedAt: number; now: number; limits: WatchdogLimits }): WatchdogVerdict {
  const limitMs = s.work === 'provision' ? s.limits.provisionMs : s.limits.recoverMs
  const remainingMs = s.startedAt + limitMs - s.now
  if (remainingMs > 0) return { action: 'wait', remainingMs }
  const what = s.work === 'provision' ? 'starting the sandbox' : 'recovering the sandbox'
  return { action: 'abandon', code: 'sandbox_timeout', message: `${what} took longer than ${Math.round(limitMs / 1000)} s and was abandoned`, hold: s.work === 'provision' }
}
