import { describe, expect, it } from 'vitest'
import { copiedInFork } from './undo'

describe('undo in a fork', () => {
  it('refuses the turns the fork copied and allows those sent to it since', () => {
    expect(copiedInFork(3, 1)).toBe(true)
    expect(copiedInFork(3, 3)).toBe(true)
    expect(copiedInFork(3, 4)).toBe(false)
    expect(copiedInFork(undefined, 1)).toBe(false)
  })
})
