import { describe, expect, it } from 'vitest'
import { nextCallbackDelay, SETTLE_MS } from './policy'

/** The README's numbers, as literals: a change to one goes with a change to the other. */
describe('run policy', () => {
  it('retries a callback after 1, 2, 4 and 8 s, 5 attempts in all', () => {
    expect([1, 2, 3, 4, 5].map(nextCallbackDelay)).toEqual([1_000, 2_000, 4_000, 8_000, undefined])
  })

  it('settles a turn 1.5 s after the agent went idle', () => {
    expect(SETTLE_MS).toBe(1_500)
  })
})
