import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { MAX_SLACK_THREADS, SlackThreads } from '../../src/tenant/slack-threads'

/**
 * A tenant's cost caps, through its index's own RPC methods on its real SQLite: calls in flight
 * of all its sessions count until each is settled. The worker project's settings cap a tenant
 * at TENANT_MAX_COST_USD_PER_DAY (vitest.config.ts).
 */

const index = (tenant: string) => env.TENANTS.get(env.TENANTS.idFromName(tenant))

describe("a tenant's reservations", () => {
  it('count against its daily cap until settled, each released once, and refuse a call once spend and holds reach it', async () => {
    const tenant = index('t_reservations_cap')
    const cap = Number(env.TENANT_MAX_COST_USD_PER_DAY)
    expect(await tenant.reserve('call-a', cap / 2)).toEqual({ ok: true })
    expect(await tenant.reserve('call-b', cap / 2)).toEqual({ ok: true })
    expect(await tenant.spent()).toMatchObject({ today: 0, reserved: cap })
    const refused = await tenant.reserve('call-c', 0.000001)
    expect(refused).toMatchObject({ ok: false })
    expect(refused.ok === false && refused.reason).toContain('reserved by calls in flight')

    // a (cheaper) settlement adds its cost and releases its hold in one step; a second one only adds
    await tenant.addSpend(cap / 4, 'call-a')
    expect(await tenant.spent()).toMatchObject({ today: cap / 4, reserved: cap / 2 })
    await tenant.addSpend(0, 'call-a')
    expect(await tenant.spent()).toMatchObject({ today: cap / 4, reserved: cap / 2 })
    expect(await tenant.reserve('call-d', cap / 8)).toEqual({ ok: true })
  })
})

describe("a tenant's listing", () => {
  it('keeps an ended session ended when an update sent while it was starting arrives after its end', async () => {
    const tenant = index('t_listing_order')
    const at = '2026-12-06T10:00:00.000Z'
    const summary = (status: 'starting' | 'idle' | 'ended') => ({ id: 'ses_listing_order', status, title: 't', createdAt: at, updatedAt: at })
    await tenant.upsert(summary('starting'))
    await tenant.upsert(summary('ended'))
    await tenant.upsert(summary('starting'))
    expect((await tenant.list(10)).items.map((s) => s.status)).toEqual(['ended'])
    // until then, the newest update is what it lists
    const other = { ...summary('idle'), id: 'ses_listing_order_2' }
    await tenant.upsert({ ...other, status: 'starting' })
    await tenant.upsert(other)
    expect((await tenant.list(10)).items.find((s) => s.id === other.id)?.status).toBe('idle')
  })
})

describe("a tenant's Slack threads", () => {
  it('name the newest run of each thread, and keep only the last MAX_SLACK_THREADS threads', async () => {
    await runInDurableObject(index('t_slack_threads'), async (_instance, state) => {
      const threads = new SlackThreads(state.storage.sql)
      threads.record('T1:C1:1.0', 'run_first')
      threads.record('T1:C1:1.0', 'run_fresh')
      expect(threads.runOf('T1:C1:1.0')).toBe('run_fresh')
      // The same ts in another team's workspace is another thread.
      expect(threads.runOf('T2:C1:1.0')).toBeNull()
      for (let i = 0; i < MAX_SLACK_THREADS; i++) threads.record(`T1:C1:${i + 2}.0`, `run_${i}`)
      expect(threads.runOf('T1:C1:1.0')).toBeNull()
      expect(threads.runOf('T1:C1:2.0')).toBe('run_0')
    })
  })
})
