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

  it('adds model calls up by provider and model over the range, a call sent twice once', async () => {
    const tenant = 't_usage_store_models'
    const call = (id: string, day: string, model: string, cost: number) => ({
      id,
      kind: 'call' as const,
      day,
      counts: { inputTokens: 100, outputTokens: 10, cost },
      call: { provider: 'anthropic', model, cacheReadTokens: 40, cacheWriteTokens: 5 },
    })
    const first = call('ses_m:call:1', '2026-03-01', 'claude-haiku-4-5', 0.5)
    await index(tenant).recordUsage(tenant, [first, call('ses_m:call:2', '2026-03-02', 'claude-haiku-4-5', 0.25), call('ses_m:call:3', '2026-03-02', 'claude-opus-4-5', 1)])
    await index(tenant).recordUsage(tenant, [first])
    const usage = await index(tenant).usage('2026-03-01', '2026-03-02')
    expect(usage.models).toEqual([
      { provider: 'anthropic', model: 'claude-opus-4-5', calls: 1, inputTokens: 100, outputTokens: 10, cacheReadTokens: 40, cacheWriteTokens: 5, cost: 1 },
      { provider: 'anthropic', model: 'claude-haiku-4-5', calls: 2, inputTokens: 200, outputTokens: 20, cacheReadTokens: 80, cacheWriteTokens: 10, cost: 0.75 },
    ])
    expect(usage.totals).toMatchObject({ inputTokens: 300, outputTokens: 30, cost: 1.75 })
    expect((await index(tenant).usage('2026-03-02', '2026-03-02')).models.map((m) => m.calls)).toEqual([1, 1])
  })

  it("keeps opencode's own figure beside the metered one, each message once, and shows it only where the two differ", async () => {
    const tenant = 't_usage_store_opencode'
    const call = (id: string, day: string, inputTokens: number, outputTokens: number, cost: number) => ({
      id,
      kind: 'call' as const,
      day,
      counts: { inputTokens, outputTokens, cost },
      call: { provider: 'local', model: 'm', cacheReadTokens: 0, cacheWriteTokens: 0 },
    })
    const figure = (id: string, day: string, inputTokens: number, outputTokens: number, cost: number) => ({
      id,
      kind: 'opencode' as const,
      day,
      counts: {},
      opencode: { inputTokens, outputTokens, cost },
    })
    const turn = figure('ses_o:opencode:msg_1', '2026-03-01', 300, 10, 0.5)
    await index(tenant).recordUsage(tenant, [
      call('ses_o:call:1', '2026-03-01', 300, 10, 0.5),
      turn,
      call('ses_o:call:2', '2026-03-02', 300, 10, 0.5),
      // the title's call, which opencode's figure leaves out
      call('ses_o:call:3', '2026-03-02', 100, 5, 0.25),
      figure('ses_o:opencode:msg_2', '2026-03-02', 300, 10, 0.5),
    ])
    await index(tenant).recordUsage(tenant, [turn])
    const usage = await index(tenant).usage('2026-03-01', '2026-03-02')
    expect(usage.days.map((d) => [d.date, d.inputTokens, d.opencode])).toEqual([
      ['2026-03-01', 300, undefined],
      ['2026-03-02', 400, { inputTokens: 300, outputTokens: 10, cost: 0.5 }],
    ])
    expect(usage.totals).toMatchObject({ inputTokens: 700, outputTokens: 25, cost: 1.25, opencode: { inputTokens: 600, outputTokens: 20, cost: 1 } })
    expect(usage.models).toEqual([expect.objectContaining({ calls: 3, inputTokens: 700 })])
  })
})
