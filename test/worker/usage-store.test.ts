import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'

/** Inside workerd, through the tenant index's own RPC methods, on its real SQLite. */

const index = (tenant: string) => env.TENANTS.get(env.TENANTS.idFromName(tenant))

describe("a tenant's usage", () => {
  it('adds reports up by day and counts a report sent twice once', async () => {
    const tenant = 't_usage_store_counts'
    const turn = { id: 'ses_a:turn:msg_1', kind: 'turn' as const, day: '2026-03-01', counts: { turns: 1, inputTokens: 10, outputTokens: 4, cost: 0.25 } }
    await index(tenant).recordUsage(tenant, [
      { id: 'ses_a:start', kind: 'session', day: '2026-03-01', counts: { sessions: 1 } },
      turn,
      { id: 'ses_a:sandbox:1', kind: 'sandbox', day: '2026-03-01', counts: { runningSeconds: 30 } },
      { id: 'ses_a:sandbox:2', kind: 'sandbox', day: '2026-03-02', counts: { pausedSeconds: 7.5 } },
    ])
    await index(tenant).recordUsage(tenant, [turn, { id: 'ses_a:turn:msg_2', kind: 'turn', day: '2026-03-02', counts: { turns: 1, inputTokens: 5 } }])

    const usage = await index(tenant).usage('2026-02-28', '2026-03-02')
    expect(usage.days.map((d) => [d.date, d.sessions, d.turns, d.inputTokens, d.runningSeconds, d.pausedSeconds])).toEqual([
      ['2026-02-28', 0, 0, 0, 0, 0],
      ['2026-03-01', 1, 1, 10, 30, 0],
      ['2026-03-02', 0, 1, 5, 0, 7.5],
    ])
    expect(usage.totals).toMatchObject({ sessions: 1, turns: 2, inputTokens: 15, outputTokens: 4, cost: 0.25 })
  })

  it('keeps tenants apart', async () => {
    await index('t_usage_store_one').recordUsage('t_usage_store_one', [{ id: 'run_x:start', kind: 'run', day: '2026-03-01', counts: { runs: 1 } }])
    expect((await index('t_usage_store_two').usage('2026-03-01', '2026-03-01')).totals.runs).toBe(0)
    expect((await index('t_usage_store_one').usage('2026-03-01', '2026-03-01')).totals.runs).toBe(1)
  })
})
