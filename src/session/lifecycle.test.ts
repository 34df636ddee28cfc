import { describe, expect, it } from 'vitest'
import {
  idleDecision,
  MAX_PROVISION_ATTEMPTS,
  MAX_RECOVERY_ATTEMPTS,
  nextWakeAt,
  provisionRetry,
  recoveryDecision,
  WAKE_INTERVAL_MS,
} from './lifecycle'

describe('idleDecision', () => {
  const base = { now: 1_000_000, expiresAt: 999_000, busy: false, hasSandbox: true, clients: 0 }
  it.each([
    [{}, 'stop'],
    [{ clients: 3 }, 'stop'],
    [{ busy: true }, 'keep'],
    [{ hasSandbox: false }, 'keep'],
    [{ expiresAt: 1_000_001 }, 'keep'],
  ])('%j -> %s', (change, action) => {
    expect(idleDecision({ ...base, ...change }).action).toBe(action)
  })
})

describe('nextWakeAt', () => {
  it('wakes at the deadline when it is near, else at the periodic check, never in the past', () => {
    expect(nextWakeAt(0, 5_000)).toBe(5_000)
    expect(nextWakeAt(0, 10 * WAKE_INTERVAL_MS)).toBe(WAKE_INTERVAL_MS)
    expect(nextWakeAt(10_000, 0)).toBe(11_000)
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
    expect(provisionRetry(false, 1)).toEqual({ retry: false })
    expect(provisionRetry(true, 1)).toEqual({ retry: true, delayMs: 1000 })
    expect(provisionRetry(true, MAX_PROVISION_ATTEMPTS)).toEqual({ retry: false })
  })
})
