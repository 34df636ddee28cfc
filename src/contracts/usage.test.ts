import { describe, expect, it } from 'vitest'
import { usageRange } from './usage'

const at = (iso: string) => Date.parse(iso)

describe('usageRange', () => {
  const now = at('2026-03-10T15:00:00Z')

  it('defaults to the last 30 days, today included', () => {
    expect(usageRange({}, now)).toEqual({ ok: true, from: '2026-02-09', to: '2026-03-10' })
  })

  it('counts 30 days back from a given end', () => {
    expect(usageRange({ to: '2026-01-30' }, now)).toEqual({ ok: true, from: '2026-01-01', to: '2026-01-30' })
  })

  it('takes a one-day range', () => {
    expect(usageRange({ from: '2026-03-01', to: '2026-03-01' }, now)).toEqual({ ok: true, from: '2026-03-01', to: '2026-03-01' })
  })

  it('refuses an end before the start', () => {
    expect(usageRange({ from: '2026-03-02', to: '2026-03-01' }, now)).toMatchObject({ ok: false, path: 'to' })
  })

  it('takes 366 days and refuses 367', () => {
    expect(usageRange({ from: '2024-01-01', to: '2024-12-31' }, now)).toMatchObject({ ok: true })
    expect(usageRange({ from: '2024-01-01', to: '2025-01-01' }, now)).toMatchObject({ ok: false, path: 'from' })
  })

  it('refuses what is not a calendar day', () => {
    expect(usageRange({ from: '2026-02-30' }, now)).toMatchObject({ ok: false, path: 'from' })
    expect(usageRange({ to: 'yesterday' }, now)).toMatchObject({ ok: false, path: 'to' })
  })
})
