import { describe, expect, it } from 'vitest'
import { parseE2BLimits, runPauseAt, sandboxBudget } from './e2b-limits'

describe('the E2B plan limits', () => {
  it('reads E2B_MAX_SANDBOXES and E2B_MAX_RUN_SECONDS, none when unset, and names a malformed one', () => {
    expect(parseE2BLimits({})).toEqual({ limits: {}, errors: [] })
    expect(parseE2BLimits({ E2B_MAX_SANDBOXES: '20', E2B_MAX_RUN_SECONDS: '3600' })).toEqual({ limits: { maxSandboxes: 20, maxRunMs: 3_600_000 }, errors: [] })
    expect(parseE2BLimits({ E2B_MAX_SANDBOXES: 'lots', E2B_MAX_RUN_SECONDS: '-1' })).toEqual({
      limits: {},
      errors: ['E2B_MAX_SANDBOXES is not a positive whole number', 'E2B_MAX_RUN_SECONDS is not a positive whole number'],
    })
  })

  it("assumes the Pro plan's day of continuous run for E2B sandboxes when E2B_MAX_RUN_SECONDS is unset or not valid, and none for local ones", () => {
    expect(parseE2BLimits({ SANDBOX_PROVIDER: 'e2b' }).limits).toEqual({ maxRunMs: 86_400_000 })
    expect(parseE2BLimits({ SANDBOX_PROVIDER: 'e2b', E2B_MAX_RUN_SECONDS: 'soon' }).limits).toEqual({ maxRunMs: 86_400_000 })
    expect(parseE2BLimits({ SANDBOX_PROVIDER: 'e2b', E2B_MAX_RUN_SECONDS: '3600' }).limits).toEqual({ maxRunMs: 3_600_000 })
    expect(parseE2BLimits({ SANDBOX_PROVIDER: 'local' }).limits).toEqual({})
  })

  it.each([
    [{ running: 19, max: 20, forPool: false }, true],
    [{ running: 20, max: 20, forPool: false }, false],
    [{ running: 18, max: 20, forPool: true }, true],
    // A pool leaves the last sandbox to a session.
    [{ running: 19, max: 20, forPool: true }, false],
    [{ running: 500, max: undefined, forPool: false }, true],
  ])('budget %o: may make one: %s', (input, ok) => {
    const answer = sandboxBudget(input)
    expect(answer.ok).toBe(ok)
    if (!answer.ok) expect(answer.reason).toMatch(/E2B_MAX_SANDBOXES/)
  })

  it('pauses a quarter of the run limit early, ten minutes at most', () => {
    expect(runPauseAt(0, 3_600_000)).toBe(3_000_000)
    expect(runPauseAt(0, 86_400_000)).toBe(86_400_000 - 600_000)
    expect(runPauseAt(1_000, 20_000)).toBe(16_000)
  })
})
