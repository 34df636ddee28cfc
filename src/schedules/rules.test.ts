import { describe, expect, it } from 'vitest'
import { afterRun, dueFiring } from './rules'

const at = (iso: string) => Date.parse(iso)

describe('a schedule due', () => {
  it('fires once after downtime and next fires from now, not at each missed time', () => {
    // Hourly, due since 03:00; the Worker is back at 07:20: one run now, the next at 08:00.
    const due = dueFiring({ cron: '0 * * * *', timezone: 'UTC', runOpen: false }, at('2026-01-01T07:20:00Z'))
    expect(due).toEqual({ fire: true, nextAt: at('2026-01-01T08:00:00Z') })
  })

  it('skips a firing while its last run is still going', () => {
    const due = dueFiring({ cron: '*/5 * * * *', timezone: 'UTC', runOpen: true }, at('2026-01-01T07:20:00Z'))
    expect(due).toEqual({ fire: false, nextAt: at('2026-01-01T07:25:00Z') })
  })
})

describe('a schedule after a run', () => {
  it('pauses after three runs in a row that did not succeed, and says why', () => {
    let failures = 0
    const outcomes = (['failed', 'timed_out', 'failed'] as const).map((status) => {
      const next = afterRun(failures, status)
      failures = next.failuresInARow
      return next
    })
    expect(outcomes.map((o) => o.pause)).toEqual([undefined, undefined, expect.stringContaining('3 runs in a row')])
    expect(outcomes[2]!.pause).toContain('the last failed')
  })

  it('counts failures in a row only: a success starts the count again', () => {
    expect(afterRun(2, 'succeeded')).toEqual({ failuresInARow: 0 })
    expect(afterRun(0, 'cancelled')).toEqual({ failuresInARow: 1 })
  })
})
