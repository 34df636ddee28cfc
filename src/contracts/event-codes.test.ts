import { describe, expect, it } from 'vitest'
import { SANDBOX_STEPS, legacyReason, type SandboxStep } from './event-codes'
import { PublicEventSchemas, sandboxStatus } from './events'

describe("sandbox.status's deprecated reason", () => {
  it.each<[SandboxStep, string | undefined, string | undefined]>([
    ['provisioning', undefined, undefined],
    ['creating', undefined, 'creating'],
    ['warm', undefined, 'warm'],
    ['snapshot', '12 s old', 'snapshot (12 s old)'],
    ['snapshot_too_old', undefined, 'snapshot too old: making a new one'],
    ['snapshot_failed', 'gone', 'starting without the snapshot: gone'],
    ['warm_failed', 'exit 1', 'starting without the warm sandbox: exit 1'],
    ['retrying', 'rate limited', 'retrying after: rate limited'],
    ['copying', undefined, 'copying the sandbox'],
    ['started', undefined, undefined],
    ['agent_restarted', undefined, 'agent restarted'],
    ['run_limit', undefined, 'run limit'],
    ['gone', 'the paused sandbox is gone', 'the paused sandbox is gone'],
    ['agent_stopped', 'the agent event stream ended', 'the agent event stream ended'],
    ['ended', undefined, 'session ended'],
  ])('%s (%s) reads %s, as before step and detail came', (step, detail, reason) => {
    expect(legacyReason(step, detail)).toBe(reason)
  })

  it('is sent beside the step and its detail, which the contract takes', () => {
    const ev = sandboxStatus('starting', 'retrying', { detail: 'rate limited' })
    expect(ev).toEqual({ type: 'sandbox.status', data: { state: 'starting', step: 'retrying', detail: 'rate limited', reason: 'retrying after: rate limited' } })
    expect(PublicEventSchemas['sandbox.status'].parse(ev.data)).toEqual(ev.data)
  })
})

describe('sandbox steps', () => {
  it('belong to one state each', () => {
    const steps = Object.values(SANDBOX_STEPS).flat()
    expect(new Set(steps).size).toBe(steps.length)
  })
})
