import { describe, expect, it } from 'vitest'
import { cronProblem, nextFiring } from './cron'

const at = (iso: string) => Date.parse(iso)
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString())

describe('cron', () => {
  it('fires at the next matching minute, strictly after the given moment', () => {
    expect(iso(nextFiring('*/15 * * * *', 'UTC', at('2026-01-01T10:07:00Z')))).toBe('2026-01-01T10:15:00.000Z')
    expect(iso(nextFiring('*/15 * * * *', 'UTC', at('2026-01-01T10:15:00Z')))).toBe('2026-01-01T10:30:00.000Z')
  })

  it('takes a seconds field first', () => {
    expect(iso(nextFiring('*/5 * * * * *', 'UTC', at('2026-01-01T10:00:01Z')))).toBe('2026-01-01T10:00:05.000Z')
  })

  it('reads hours in the schedule’s time zone, across daylight saving', () => {
    // 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
    expect(iso(nextFiring('0 9 * * 1-5', 'America/New_York', at('2026-12-06T13:00:00Z')))).toBe('2026-12-07T14:00:00.000Z')
    expect(iso(nextFiring('0 9 * * 1-5', 'America/New_York', at('2026-07-06T12:00:00Z')))).toBe('2026-07-06T13:00:00.000Z')
    // 02:30 does not exist in Berlin on 29 March 2026: it fires once, at the first moment after the shift.
    expect(iso(nextFiring('30 2 * * *', 'Europe/Berlin', at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z')
    expect(iso(nextFiring('30 2 * * *', 'Europe/Berlin', at('2026-03-29T12:00:00Z')))).toBe('2026-03-30T00:30:00.000Z')
  })

  it('says what is wrong with an expression or a time zone', () => {
    const now = at('2026-01-01T00:00:00Z')
    expect(cronProblem('0 9 * * *', 'Europe/Berlin', now)).toBeUndefined()
    expect(cronProblem('0 9 * *', 'UTC', now)).toMatch(/five fields/)
    expect(cronProblem('0 0 9 * * * 2030', 'UTC', now)).toMatch(/five fields/)
    expect(cronProblem('61 * * * *', 'UTC', now)).toBeDefined()
    expect(cronProblem('0 9 * * *', 'Mars/Olympus', now)).toMatch(/unknown time zone/)
    expect(cronProblem('0 0 30 2 *', 'UTC', now)).toBe('never fires')
  })
})
