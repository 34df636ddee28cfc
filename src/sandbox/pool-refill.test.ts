import { describe, expect, it } from 'vitest'
import { refillsToStart } from './pool-refill'

describe('how many sandboxes a refill round starts at once', () => {
  const round = { ready: 0, target: 10, making: 0, limit: 4, failed: false }

  it('starts the whole deficit at once when it is within the limit', () => {
    expect(refillsToStart({ ...round, ready: 8 })).toBe(2)
  })

  it('starts no more than the limit, and tops up to it as makes finish', () => {
    expect(refillsToStart(round)).toBe(4)
    expect(refillsToStart({ ...round, making: 3 })).toBe(1)
    expect(refillsToStart({ ...round, making: 4 })).toBe(0)
  })

  it('counts the sandboxes being made toward the deficit', () => {
    expect(refillsToStart({ ...round, ready: 7, making: 2 })).toBe(1)
    expect(refillsToStart({ ...round, ready: 8, making: 2 })).toBe(0)
  })

  it('starts nothing in a full pool, nor one fuller than its target (the size was lowered)', () => {
    expect(refillsToStart({ ...round, ready: 10 })).toBe(0)
    expect(refillsToStart({ ...round, ready: 12 })).toBe(0)
  })

  it('starts nothing more once a make of the round failed', () => {
    expect(refillsToStart({ ...round, failed: true })).toBe(0)
  })

  it('makes one at a time with a limit of one', () => {
    expect(refillsToStart({ ...round, limit: 1 })).toBe(1)
    expect(refillsToStart({ ...round, limit: 1, making: 1 })).toBe(0)
  })
})
