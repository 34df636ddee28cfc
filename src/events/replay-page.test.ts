import { describe, expect, it } from 'vitest'
import { pageLength } from './replay-page'

describe('a replay page', () => {
  it('takes rows while their bytes fit, and always at least one', () => {
    expect(pageLength([], 10)).toBe(0)
    expect(pageLength([4, 4, 4], 10)).toBe(2)
    expect(pageLength([4, 6, 4], 10)).toBe(2)
    expect(pageLength([3, 3, 3], 10)).toBe(3)
    expect(pageLength([50, 1], 10)).toBe(1)
    expect(pageLength([1, 50], 10)).toBe(1)
  })
})
