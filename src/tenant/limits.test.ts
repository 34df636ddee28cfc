import { describe, expect, it } from 'vitest'
import { admitRun, admitSession, utcDay } from './limits'

describe('admitSession', () => {
  it.each([
    [0, 0, true],
    [19, 59, true],
    [20, 0, false],
    [0, 60, false],
  ])('%i active, %i created in the last minute -> %s', (active, recent, expected) => {
    expect(admitSession(active, recent, { maxActive: 20, perMinute: 60 }).ok).toBe(expected)
  })

  it.each([
    [0, false, true],
    [29, false, true],
    [30, false, false],
    [30, true, true],
  ])('a run after %i in the last minute (asked again: %s) -> %s', (recent, again, expected) => {
    expect(admitRun(recent, 30, again).ok).toBe(expected)
  })

  it('counts spend by UTC day', () => {
    expect(utcDay(Date.parse('2026-11-25T23:59:59Z'))).toBe('2026-11-25')
    expect(utcDay(Date.parse('2026-11-26T00:00:00Z'))).toBe('2026-11-26')
  })
})
