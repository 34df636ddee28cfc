import { describe, expect, it } from 'vitest'
import { countSetting } from './count-setting'

describe('countSetting', () => {
  it.each<[string | undefined, number, string | undefined]>([
    [undefined, 30, undefined],
    ['', 30, undefined],
    ['5', 5, undefined],
    [' 12 ', 12, undefined],
    ['0', 30, 'X is not valid: expected at least 1'],
    ['-3', 30, 'X is not valid: expected a whole number'],
    ['2.5', 30, 'X is not valid: expected a whole number'],
    ['ten', 30, 'X is not valid: expected a whole number'],
    ['99999999', 30, 'X is not valid: expected at most 1000000'],
  ])('%j → %i (%s)', (text, value, error) => {
    expect(countSetting('X', text, 30)).toEqual({ value, ...(error && { error }) })
  })
})
