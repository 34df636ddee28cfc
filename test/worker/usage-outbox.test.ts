import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { dayOf } from '../../src/lib/days'
import { SessionUsage } from '../../src/session/usage/report'

/**
 * A session's usage outbox inside workerd, on a real session's SQLite and a real tenant index:
 * a turn's and a model call's reports are kept until the index has it, and a second object made on the same storage (the
 * Worker restarted before the first one's send was acknowledged) sends it again without it
 * counting twice.
 */

/** A session's usage report on this storage, its alarm counted by `wake`. */
function outboxOf(sql: SqlStorage, owner: { id: string; tenant: string }, wake: () => void): SessionUsage {
  const usage = new SessionUsage(sql, env, () => owner)
  usage.neighbours.join({ wakes: { scheduleWake: async () => void wake() } })
  return usage
}

const index = (tenant: string) => env.TENANTS.get(env.TENANTS.idFromName(tenant))

describe('the usage outbox', () => {
  it('keeps a turn and its model call until its tenant counts them, and a restart that sends them again counts them once', async () => {
    const tenant = 't_usage_outbox_once'
    const owner = { id: 'ses_outbox00000000000001', tenant }
    const usage = { inputTokens: 40, outputTokens: 7, cost: 0.5 }
    await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName('usage-outbox-once')), async (_instance, state) => {
      let wakes = 0
      const before = outboxOf(state.storage.sql, owner, () => wakes++)
      before.turnEnded('msg_1')
      before.callSettled('res_1', { provider: 'scripted', model: 'm' }, { ...usage, cacheReadTokens: 0, cacheWriteTokens: 0 })
      // The Worker goes away here: another object on the same storage finds the report kept.
      const after = outboxOf(state.storage.sql, owner, () => wakes++)
      expect(after.unsent()).toBe(true)
      expect(await after.onAlarm()).toBe(true)
      expect(await before.send()).toBe(true)
      expect(after.unsent()).toBe(false)
      expect(wakes).toBe(0)
    })
    const today = dayOf(Date.now())
    expect((await index(tenant).usage(today, today)).totals).toMatchObject({ turns: 1, ...usage })
  })

  it("counts a run's start through its session's outbox, once however often it is sent", async () => {
    const tenant = 't_usage_outbox_run'
    const owner = { id: 'ses_outbox00000000000002', tenant }
    await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName('usage-outbox-run')), async (_instance, state) => {
      const usage = outboxOf(state.storage.sql, owner, () => {})
      usage.started('run_outbox0000000000001')
      // reported again (a restart before the first was acknowledged): still one session, one run
      usage.started('run_outbox0000000000001')
      expect(await usage.send()).toBe(true)
    })
    const today = dayOf(Date.now())
    expect((await index(tenant).usage(today, today)).totals).toMatchObject({ sessions: 1, runs: 1 })
  })
})
