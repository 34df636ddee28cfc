import { describe, expect, it } from 'vitest'
import { callbackRetryDelay, SETTLE_MS } from './policy'

/** The README's numbers, as literals: a change to one goes with a change to the other. */
describe('run policy', () => {
  const attempts = [1, 2, 3, 4, 5, 6, 7]

  it('retries a callback after 1 s, 5 s, 30 s, 2 min, 10 min and 1 h, 7 attempts in all', () => {
    expect(attempts.map((n) => callbackRetryDelay(n, 0.5))).toEqual([1_000, 5_000, 30_000, 120_000, 600_000, 3_600_000, undefined])
  })

  it('varies each pause by 20 % either way', () => {
    expect(attempts.map((n) => callbackRetryDelay(n, 0))).toEqual([800, 4_000, 24_000, 96_000, 480_000, 2_880_000, undefined])
    expect(callbackRetryDelay(6, 0.999_999)).toBe(4_319_999)
    expect(callbackRetryDelay(2, 0.25)).toBe(4_500)
  })

  it('gives up after the last attempt, whatever the dice say', () => {
    expect(callbackRetryDelay(7, 0)).toBeUndefined()
    expect(callbackRetryDelay(50, 0.5)).toBeUndefined()
  })

  it('settles a turn 1.5 s after the agent went idle', () => {
    expect(SETTLE_MS).toBe(1_500)
  })
})
