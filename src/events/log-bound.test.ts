import { describe, expect, it } from 'vitest'
import { bytesToFree, MAX_LOG_BYTES, storedBytes } from './log-bound'

describe('the event log bound', () => {
  it.each([
    [0, 1000, 0],
    [1000, 1000, 0],
    [1001, 1000, 251],
    [4000, 1000, 3250],
  ])('%i bytes stored under a bound of %i: %i to free', (stored, max, free) => {
    expect(bytesToFree(stored, max)).toBe(free)
  })

  it('defaults to MAX_LOG_BYTES, and counts UTF-8 bytes', () => {
    expect(bytesToFree(MAX_LOG_BYTES)).toBe(0)
    expect(bytesToFree(MAX_LOG_BYTES + 1)).toBe(MAX_LOG_BYTES / 4 + 1)
    expect(storedBytes('{"t":"é€😀"}')).toBe(8 + 2 + 3 + 4)
  })
})
