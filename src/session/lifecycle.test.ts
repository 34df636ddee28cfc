import { describe, expect, it } from 'vitest'
import { idleDecision, nextWakeAt, WAKE_INTERVAL_MS } from './lifecycle'

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
