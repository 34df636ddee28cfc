import { describe, expect, it } from 'vitest'
import { capsLeft, meterMode, sandboxReports, usageSummary, zeroCounts } from './usage'

const at = (iso: string) => Date.parse(iso)

describe('usageSummary', () => {
  const figure = (inputTokens: number, outputTokens: number, cost: number) => ({ inputTokens, outputTokens, cost })

  it('fills days without usage with zeros and adds up the totals', () => {
    const stored = [
      { date: '2026-03-01', ...zeroCounts(), sessions: 2, turns: 3, inputTokens: 100, cost: 0.1, opencode: figure(100, 0, 0.1) },
      { date: '2026-03-03', ...zeroCounts(), runs: 1, runningSeconds: 12.5, pausedSeconds: 4, opencode: figure(0, 0, 0) },
    ]
    const summary = usageSummary('2026-03-01', '2026-03-03', stored)
    expect(summary.days.map((d) => d.date)).toEqual(['2026-03-01', '2026-03-02', '2026-03-03'])
    expect(summary.days[1]).toEqual({ date: '2026-03-02', ...zeroCounts() })
    expect(summary.totals).toEqual({
      sessions: 2,
      runs: 1,
      turns: 3,
      runningSeconds: 12.5,
      pausedSeconds: 4,
      inputTokens: 100,
      outputTokens: 0,
      cost: 0.1,
    })
  })

  it("shows opencode's own figure beside the metered one only on the days, and in the totals, where they differ", () => {
    const stored = [
      // opencode agrees with the bill (its sums drift like any float's)
      { date: '2026-03-01', ...zeroCounts(), inputTokens: 300, outputTokens: 10, cost: 0.1 + 0.2, opencode: figure(300, 10, 0.3) },
      // a title call opencode does not count
      { date: '2026-03-02', ...zeroCounts(), inputTokens: 400, outputTokens: 15, cost: 0.5, opencode: figure(300, 10, 0.3) },
    ]
    const summary = usageSummary('2026-03-01', '2026-03-03', stored)
    expect(summary.days.map((d) => d.opencode)).toEqual([undefined, figure(300, 10, 0.3), undefined])
    expect(summary.totals.opencode).toEqual(figure(600, 20, 0.6))
  })
})

describe('meterMode', () => {
  it('runs from ready until paused, stopped or lost', () => {
    expect(meterMode(null, 'starting')).toBe(null)
    expect(meterMode(null, 'ready')).toBe('running')
    expect(meterMode('running', 'restarting')).toBe('running')
    expect(meterMode('running', 'paused')).toBe('paused')
    expect(meterMode('running', 'lost')).toBe(null)
    expect(meterMode('running', 'stopped')).toBe(null)
  })

  it('stays paused while a resume is starting, until ready or stopped', () => {
    expect(meterMode('paused', 'starting')).toBe('paused')
    expect(meterMode('paused', 'ready')).toBe('running')
    expect(meterMode('paused', 'stopped')).toBe(null)
  })
})

describe('sandboxReports', () => {
  it('reports an interval within one day as one report', () => {
    const from = at('2026-03-01T10:00:00Z')
    expect(sandboxReports('ses_1:sandbox', 'running', from, from + 90_500)).toEqual([
      { id: `ses_1:sandbox:${from}`, kind: 'sandbox', day: '2026-03-01', counts: { runningSeconds: 90.5 } },
    ])
  })

  it('splits an interval across midnights into the days its seconds fall in', () => {
    const reports = sandboxReports('s', 'paused', at('2026-03-01T23:59:00Z'), at('2026-03-03T00:00:30Z'))
    expect(reports.map((r) => [r.day, r.counts.pausedSeconds])).toEqual([
      ['2026-03-01', 60],
      ['2026-03-02', 86_400],
      ['2026-03-03', 30],
    ])
    expect(new Set(reports.map((r) => r.id)).size).toBe(3)
  })

  it('reports nothing for an empty interval', () => {
    expect(sandboxReports('s', 'running', 1000, 1000)).toEqual([])
  })
})

describe('capsLeft', () => {
  it('says what remains of each cap the deployment sets, never below zero', () => {
    expect(capsLeft({ today: 2, month: 30.5 }, { capPerDay: 5, capPerMonth: 30 })).toEqual({
      day: { limitUsd: 5, spentUsd: 2, remainingUsd: 3 },
      month: { limitUsd: 30, spentUsd: 30.5, remainingUsd: 0 },
    })
    expect(capsLeft({ today: 2, month: 3 }, {})).toEqual({ day: null, month: null })
  })
})
