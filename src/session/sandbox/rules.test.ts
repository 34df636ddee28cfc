import { describe, expect, it } from 'vitest'
import { CLONE_TIMEOUT_MS, PROVISION_WATCHDOG_MS, RECOVERY_WATCHDOG_MS, SANDBOX_GRACE_MS, SETUP_TIMEOUT_MS } from '../../sandbox/timeouts'
import {
  linkEndReason,
  idleDecision,
  MAX_PROVISION_ATTEMPTS,
  MAX_RECOVERY_ATTEMPTS,
  needsKeepAlive,
  expiry,
  nextWake,
  nextWakeAt,
  pauseRetryDelayMs,
  provisionRetry,
  MAX_RATE_LIMITED_ATTEMPTS,
  recoveryDecision,
  sandboxTimeoutMs,
  wakeReason,
  wantsSandbox,
  watchdogVerdict,
  type Wake,
  type WakeInput,
} from './rules'
import { DEFAULT_TIMINGS } from '../../config/timings'

const WAKE_INTERVAL_MS = DEFAULT_TIMINGS.wakeMs

describe('idleDecision', () => {
  const base = { now: 1_000_000, expiresAt: 999_000, busy: false, hasSandbox: true, clients: 0 }
  it.each([
    [{}, 'pause'],
    [{ clients: 3 }, 'pause'],
    [{ busy: true }, 'keep'],
    [{ hasSandbox: false }, 'keep'],
    [{ expiresAt: 1_000_001 }, 'keep'],
  ])('%j -> %s', (change, action) => {
    expect(idleDecision({ ...base, ...change }).action).toBe(action)
  })

  it('pauses a sandbox in use between turns once the run limit draws near, never during a turn', () => {
    const inUse = { ...base, expiresAt: 2_000_000, clients: 1 }
    expect(idleDecision({ ...inUse, runPauseAt: 1_000_000 })).toEqual({ action: 'pause', reason: 'run_limit' })
    expect(idleDecision({ ...inUse, runPauseAt: 1_000_001 }).action).toBe('keep')
    expect(idleDecision({ ...inUse, runPauseAt: 1_000_000, busy: true }).action).toBe('keep')
  })

  it('pauses for the run limit with messages waiting, which run once it is resumed, but not during a turn', () => {
    const queued = { ...base, expiresAt: 2_000_000, busy: true, onlyWaiting: true }
    expect(idleDecision({ ...queued, runPauseAt: 1_000_000 })).toEqual({ action: 'pause', reason: 'run_limit' })
    expect(idleDecision({ ...queued, runPauseAt: 1_000_001 })).toEqual({ action: 'keep', reason: 'working' })
    expect(idleDecision({ ...queued, onlyWaiting: false, runPauseAt: 1_000_000 }).action).toBe('keep')
  })
})

describe('wantsSandbox', () => {
  const idle = { now: 1_000_000, expiresAt: 999_000, hasWork: false }
  it('wants one for work, or while the session is in use; not for an idle session with watchers', () => {
    expect(wantsSandbox(idle)).toBe(false)
    expect(wantsSandbox({ ...idle, hasWork: true })).toBe(true)
    expect(wantsSandbox({ ...idle, expiresAt: 1_000_001 })).toBe(true)
  })

  it('wants none while held after a provisioning the watchdog abandoned, work waiting or not', () => {
    expect(wantsSandbox({ ...idle, hasWork: true, held: true })).toBe(false)
    expect(wantsSandbox({ ...idle, expiresAt: 1_000_001, held: true })).toBe(false)
  })
})

describe('provider timeouts', () => {
  const minute = 60_000
  it('keeps a sandbox through the idle deadline plus a grace, and at least the grace while working past it', () => {
    expect(sandboxTimeoutMs(0, 15 * minute)).toBe(15 * minute + SANDBOX_GRACE_MS)
    expect(sandboxTimeoutMs(20 * minute, 15 * minute)).toBe(SANDBOX_GRACE_MS)
  })

  it.each([
    ['a sandbox whose deadline is unknown (from the warm pool)', { now: 0, expiresAt: 15 * minute, deadline: undefined }, true],
    ['a fresh sandbox', { now: 0, expiresAt: 15 * minute, deadline: 15 * minute + SANDBOX_GRACE_MS }, false],
    ['a session kept alive a little', { now: minute, expiresAt: 16 * minute, deadline: 15 * minute + SANDBOX_GRACE_MS }, false],
    ['a session kept alive for long', { now: 10 * minute, expiresAt: 25 * minute, deadline: 15 * minute + SANDBOX_GRACE_MS }, true],
    ['a long turn nearing the deadline', { now: 23 * minute, expiresAt: 15 * minute, deadline: 25 * minute }, true],
  ])('extends for %s: %s', (_, input, expected) => {
    expect(needsKeepAlive(input)).toBe(expected)
  })
})

describe('nextWakeAt', () => {
  it('wakes at the deadline when it is near, else at the periodic check, never in the past', () => {
    expect(nextWakeAt(0, 5_000, undefined, WAKE_INTERVAL_MS)).toBe(5_000)
    expect(nextWakeAt(0, 10 * WAKE_INTERVAL_MS, undefined, WAKE_INTERVAL_MS)).toBe(WAKE_INTERVAL_MS)
    expect(nextWakeAt(10_000, 10_500, undefined, WAKE_INTERVAL_MS)).toBe(11_000)
    expect(nextWakeAt(10_000, 0, undefined, WAKE_INTERVAL_MS)).toBe(10_000 + WAKE_INTERVAL_MS)
    // README, "When things break": a sandbox nobody follows is checked at the next alarm, every 30 s.
    expect(nextWakeAt(0, 10 * 60_000, undefined, WAKE_INTERVAL_MS)).toBe(30_000)
    expect(nextWakeAt(10_000, 0, 5_000, WAKE_INTERVAL_MS)).toBe(11_000)
  })

  it('checks as often as TIMINGS says, but never sooner than a second from now', () => {
    expect(nextWakeAt(0, 10 * 60_000, undefined, 2_000)).toBe(2_000)
    expect(nextWakeAt(0, 10 * 60_000, undefined, 200)).toBe(1_000)
  })
})

describe('linkEndReason', () => {
  it('names the process exit the sandbox reported, else how the event stream ended', () => {
    expect(linkEndReason({ reason: 'exited', detail: 'opencode was ended by SIGKILL' })).toBe('opencode was ended by SIGKILL')
    expect(linkEndReason({ reason: 'exited' })).toBe('the agent process exited')
    expect(linkEndReason({ reason: 'closed' })).toBe('the agent event stream ended')
    expect(linkEndReason({ reason: 'failed', detail: 'reset' })).toBe('the agent event stream ended')
    expect(linkEndReason({ reason: 'silent' })).toBe('the agent event stream went silent')
  })
})

describe('recoveryDecision', () => {
  it.each([
    [{ agentHealthy: true, sandbox: 'running' }, 1, 'resubscribe'],
    [{ agentHealthy: false, sandbox: 'gone' }, 1, 'replace_sandbox'],
    [{ agentHealthy: false, sandbox: 'agent_exited' }, 1, 'restart_agent'],
    [{ agentHealthy: false, sandbox: 'running' }, 1, 'retry'],
    [{ agentHealthy: false, sandbox: 'running' }, MAX_RECOVERY_ATTEMPTS, 'restart_agent'],
    [{ agentHealthy: false, sandbox: 'unknown' }, 2, 'retry'],
    [{ agentHealthy: false, sandbox: 'unknown' }, MAX_RECOVERY_ATTEMPTS, 'replace_sandbox'],
    [{ agentHealthy: false, sandbox: 'paused' }, 1, 'resume'],
    [{ agentHealthy: false, sandbox: 'paused' }, MAX_RECOVERY_ATTEMPTS, 'replace_sandbox'],
  ] as const)('%j on attempt %i -> %s', (probe, attempt, action) => {
    expect(recoveryDecision(probe, attempt).action).toBe(action)
  })

  it('backs off between probes', () => {
    const delays = [1, 2, 3, 4].map((a) => recoveryDecision({ agentHealthy: false, sandbox: 'unknown' }, a))
    expect(delays.map((d) => (d.action === 'retry' ? d.delayMs : 0))).toEqual([250, 500, 1000, 2000])
  })
})

describe('provisionRetry', () => {
  it('retries transient failures a bounded number of times, others never', () => {
    expect(provisionRetry('permanent', 1)).toEqual({ retry: false })
    expect(provisionRetry('transient', 1)).toEqual({ retry: true, delayMs: 1000 })
    expect(provisionRetry('transient', MAX_PROVISION_ATTEMPTS)).toEqual({ retry: false })
    // README, "When things break": transient create failures are tried 3 times.
    expect(provisionRetry('transient', 2)).toEqual({ retry: true, delayMs: 2000 })
    expect(provisionRetry('transient', 3)).toEqual({ retry: false })
  })

  it('backs off longer from a rate limit: doubling to 16 s, spread by the jitter, 7 attempts in all', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((a) => provisionRetry('rate_limited', a))
    expect(delays.map((d) => (d.retry ? d.delayMs : 0))).toEqual([1000, 2000, 4000, 8000, 16000, 16000])
    expect(provisionRetry('rate_limited', MAX_RATE_LIMITED_ATTEMPTS)).toEqual({ retry: false })
    expect(provisionRetry('rate_limited', 1, 1)).toEqual({ retry: true, delayMs: 1500 })
  })
})

describe('when the session wakes next', () => {
  const now = 1_000_000
  const base: WakeInput = { now, expiresAt: now + 60_000, active: false, paused: false, pausedRetentionMs: 7_000_000, endedRetentionMs: 30_000_000, wakeMs: WAKE_INTERVAL_MS }
  it.each<[string, Partial<WakeInput>, ReturnType<typeof nextWake>]>([
    ['a running sandbox is looked after periodically', { active: true }, { at: now + WAKE_INTERVAL_MS, why: 'look_after' }],
    ['a session in use without a sandbox yet is looked after until its idle deadline', {}, { at: now + WAKE_INTERVAL_MS, why: 'look_after' }],
    ['a pending request wakes it at its deadline', { expiresAt: now - 1, pendingDeadline: now + 5_000 }, { at: now + 5_000, why: 'look_after' }],
    ['a paused sandbox wakes it only when its retention is up', { paused: true, pausedAt: now - 10, expiresAt: now - 20 }, { at: now - 10 + 7_000_000, why: 'expire' }],
    ['no sandbox and nothing to do: no alarm at all', { expiresAt: now - 1 }, undefined],
    ['a hibernated session wakes to end when its retention from its last activity is up', { expiresAt: now - 1, checkpointed: true }, { at: now - 1 + 30_000_000, why: 'expire' }],
    ['a paused session with a checkpoint still wakes at its paused retention', { paused: true, pausedAt: now - 10, expiresAt: now - 20, checkpointed: true }, { at: now - 10 + 7_000_000, why: 'expire' }],
    ['an ended session wakes to be deleted when its retention is up', { endedAt: now - 5, active: true }, { at: now - 5 + 30_000_000, why: 'forget' }],
    ['an ended session whose sandbox kill failed tries again periodically', { endedAt: now - 5, leftover: true }, { at: now + WAKE_INTERVAL_MS, why: 'kill_leftover' }],
    ['unsent usage brings back an idle session with nothing else to do', { expiresAt: now - 1, unsent: true }, { at: now + WAKE_INTERVAL_MS, why: 'send_usage' }],
    ['unsent usage keeps an ended session from being deleted', { endedAt: now - 30_000_000, unsent: true }, { at: now + WAKE_INTERVAL_MS, why: 'send_usage' }],
    ['unsent usage leaves a sooner wake as it is', { unsent: true, pendingDeadline: now + 10 }, { at: now + 1_000, why: 'look_after' }],
  ])('%s', (_name, input, wake) => {
    expect(nextWake({ ...base, ...input })).toEqual(wake)
  })
})

describe('a paused session past its retention', () => {
  it('hibernates when a checkpoint holds its work, and ends otherwise', () => {
    expect(expiry({ paused: true, checkpointed: true })).toBe('hibernate')
    expect(expiry({ paused: true, checkpointed: false })).toBe('end')
    // no sandbox left to let go: the hibernated session's own retention is up
    expect(expiry({ paused: false, checkpointed: true })).toBe('end')
  })
})

describe('which reason an alarm answers', () => {
  const now = 1_000_000
  it.each<[string, Wake | undefined, ReturnType<typeof wakeReason>]>([
    ['nothing planned: the session is looked after', undefined, 'look_after'],
    ['an ended session whose retention is up is forgotten', { at: now, why: 'forget' }, 'forget'],
    ['a paused session kept past its retention ends', { at: now - 1, why: 'expire' }, 'expire'],
    ['an alarm before the retention is up looks after the session', { at: now + 1, why: 'forget' }, 'look_after'],
    ['an unconfirmed kill is tried again at every alarm', { at: now + WAKE_INTERVAL_MS, why: 'kill_leftover' }, 'kill_leftover'],
    ['unsent usage', { at: now + WAKE_INTERVAL_MS, why: 'send_usage' }, 'send_usage'],
  ])('%s', (_name, planned, reason) => {
    expect(wakeReason(planned, now)).toBe(reason)
  })
})

describe('a failed pause', () => {
  it.each([
    [1, 30_000],
    [2, 60_000],
    [4, 240_000],
    [6, 600_000],
    [20, 600_000],
  ])('after %i failures in a row is tried again in %i ms', (failures, delay) => {
    expect(pauseRetryDelayMs(failures, DEFAULT_TIMINGS.pauseRetryMs)).toBe(delay)
  })

  it('starts from the base TIMINGS gives, with the same ceiling', () => {
    expect([1, 2, 3].map((n) => pauseRetryDelayMs(n, 1_000))).toEqual([1_000, 2_000, 4_000])
    expect(pauseRetryDelayMs(30, 1_000)).toBe(600_000)
  })
})

describe('the watchdog over work on the sandbox', () => {
  const limits = { provisionMs: 60_000, recoverMs: 10_000 }
  const at = (work: 'provision' | 'recover', elapsed: number) => watchdogVerdict({ work, startedAt: 1_000_000, now: 1_000_000 + elapsed, limits })

  it('waits until the limit of its kind of work has passed', () => {
    expect(at('provision', 0)).toEqual({ action: 'wait', remainingMs: 60_000 })
    expect(at('provision', 59_999)).toEqual({ action: 'wait', remainingMs: 1 })
    expect(at('recover', 9_000)).toEqual({ action: 'wait', remainingMs: 1_000 })
  })

  it('abandons provisioning past its limit with sandbox_timeout, and holds further tries for a new message', () => {
    expect(at('provision', 60_000)).toEqual({
      action: 'abandon',
      code: 'sandbox_timeout',
      message: 'starting the sandbox took longer than 60 s and was abandoned',
      hold: true,
    })
  })

  it('abandons recovery past its limit without holding: queued work gets a new sandbox as after any loss', () => {
    expect(at('recover', 10_001)).toMatchObject({ action: 'abandon', code: 'sandbox_timeout', hold: false })
    expect(at('recover', 10_001)).not.toMatchObject({ message: expect.stringContaining('starting') })
  })

  it('gives provisioning room for a clone and a setup at their own limits, and recovery minutes', () => {
    expect(PROVISION_WATCHDOG_MS).toBeGreaterThan(CLONE_TIMEOUT_MS + SETUP_TIMEOUT_MS)
    expect(RECOVERY_WATCHDOG_MS).toBe(5 * 60_000)
  })
})
