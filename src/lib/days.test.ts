import { describe, expect, it } from 'vitest'
import { daysIn, isDay } from './days'

describe('isDay', () => {
  it('takes real days only, written YYYY-MM-DD', () => {
    expect(isDay('2024-02-29')).toBe(true)
    expect(isDay('2025-02-29')).toBe(false)
    expect(isDay('2026-1-05')).toBe(false)
    expect(isDay('2026-01-05T00:00:00Z')).toBe(false)
  })
})

describe('daysIn', () => {
  it('lists every day across a month end, both ends included', () => {
    expect(daysIn('2026-01-30', '2026-02-02')).toEqual(['2026-01-30', '2026-01-31', '2026-02-01', '2026-02-02'])
  })
})
