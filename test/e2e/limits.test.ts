import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, EventStream, TEST_KEYS, waitFor, waitForStatus } from './helpers'
import { startReceiver } from './receivers'
import { createHash } from 'node:crypto'

/** The id POST /v1/runs gives tenant `tenant`'s idempotency key `key`, as an outsider can work it out. */
function runIdOf(tenant: string, key: string): string {
  const digest = createHash('sha256').update(`${tenant}\n${key}`).digest('hex')
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
  return `run_${[...digest.slice(0, 20)].map((ch) => alphabet[parseInt(ch, 16)]).join('')}`
}

/** A tenant's limits, on a stack of their own: the shared one's tenants are shared by every file. */

let own: OwnStack

beforeAll(async () => {
  own = await startOwnStack('limits', {
    MAX_ACTIVE_SESSIONS_PER_TENANT: '2',
    MAX_SESSION_CREATES_PER_MINUTE: '3',
    MAX_RUN_CREATES_PER_MINUTE: '2',
    TENANT_MAX_COST_USD_PER_DAY: '0.000001',
  })
})

afterAll(async () => {
  await own?.close()
})

const create = () => api('/v1/sessions', { body: {} })
const end = (id: string) => api(`/v1/sessions/${id}`, { method: 'DELETE' })

describe('per-tenant limits', () => {
  it('refuses a session past the active limit and past the create rate, with 429', async () => {
    const a = await create()
    const b = await create()
    expect([a.status, b.status]).toEqual([201, 201])
    const third = await create()
    expect(third.status).toBe(429)
    expect(third.body.error).toMatchObject({ code: 'too_many_requests' })
    expect(third.body.error.message).toContain('active sessions')
    // another tenant is not held to this one's count
    const other = await api('/v1/sessions', { body: {}, key: TEST_KEYS[1] })
    expect(other.status).toBe(201)
    await api(`/v1/sessions/${other.body.id}`, { method: 'DELETE', key: TEST_KEYS[1] })

    await end(a.body.id)
    expect((await create()).status).toBe(201)
    await end(b.body.id)
    const fast = await create()
    expect(fast.status).toBe(429)
    expect(fast.body.error.message).toContain('last minute')
  })

  it('ends a run whose session may not be created failed, with the refusal in its answer, sends it no callback, and keeps its key on it', async () => {
    const key = TEST_KEYS[2]
    const receiver = await startReceiver(() => 200)
    try {
      const held = [await createSession({}, key), await createSession({}, key)]
      const body = { prompt: 'never starts', idempotencyKey: 'over-the-limit', callback: { url: `${receiver.url}/hook` } }
      const started = await api('/v1/runs', { body, key })
      expect(started.status).toBe(202)
      expect(started.body).toMatchObject({ status: 'failed', error: { code: 'too_many_requests' } })
      const id = started.body.id as string

      const run = await api(`/v1/runs/${id}`, { key })
      expect(run.body).toMatchObject({ status: 'failed', error: { code: 'too_many_requests', message: expect.stringContaining('active sessions') } })
      expect(run.body.result).toBeUndefined()
      // The answer said it all: nothing is sent, and nothing is waiting to be.
      expect(run.body.callback).toEqual({ url: `${receiver.url}/hook`, state: 'skipped', attempts: [] })

      // With room again, the same key still names the failed run rather than starting another.
      for (const session of held) await api(`/v1/sessions/${session}`, { method: 'DELETE', key })
      const again = await api('/v1/runs', { body, key })
      expect(again.status).toBe(202)
      expect(again.body).toEqual(started.body)
      expect((await api(`/v1/runs/${id}`, { key })).body.callback).toEqual({ url: `${receiver.url}/hook`, state: 'skipped', attempts: [] })
      expect(receiver.received).toEqual([])
    } finally {
      await receiver.close()
    }
  })

  it('refuses a run past the run rate with 429 before anything of it is kept, and never calls it back', async () => {
    const key = TEST_KEYS[3]
    const receiver = await startReceiver(() => 200)
    try {
      const body = (n: number) => ({ prompt: `run ${n}`, idempotencyKey: `rate-${n}`, callback: { url: `${receiver.url}/hook` } })
      const first = await api('/v1/runs', { body: body(1), key })
      // Asked again within the minute, the same run counts once.
      const again = await api('/v1/runs', { body: body(1), key })
      const second = await api('/v1/runs', { body: body(2), key })
      expect([first.status, again.status, second.status]).toEqual([202, 202, 202])
      expect(again.body.id).toBe(first.body.id)

      const refused = await api('/v1/runs', { body: body(3), key })
      expect(refused.status).toBe(429)
      expect(refused.body.error).toMatchObject({ code: 'too_many_requests', message: expect.stringContaining('runs in the last minute') })
      // The id that key would name holds no run: its object was never made.
      const { id: tenant } = (await api('/v1/tenant', { key })).body
      const refusedId = runIdOf(tenant, 'rate-3')
      expect(refusedId).toMatch(/^run_[0-9a-z]{20}$/)
      expect(runIdOf(tenant, 'rate-1')).toBe(first.body.id)
      expect((await api(`/v1/runs/${refusedId}`, { key })).status).toBe(404)

      for (const id of [first.body.id, second.body.id]) expect((await api(`/v1/runs/${id}`, { method: 'DELETE', key })).status).toBe(200)
      // The runs that were let in call back once cancelled; the refused one never does.
      await waitFor('the admitted runs to call back', async () => (receiver.received.length >= 2 ? true : undefined))
      expect(receiver.received.map((r) => JSON.parse(r.body).id).sort()).toEqual([first.body.id, second.body.id].sort())
    } finally {
      await receiver.close()
    }
  })

  it("stops a tenant's model calls once its daily cost cap is spent, in every session", async () => {
    const key = TEST_KEYS[1]
    const id = await createSession({}, key)
    const stream = new EventStream(id, { key })
    await waitForStatus(id, 'idle', key)
    expect((await api(`/v1/sessions/${id}/messages`, { body: { text: 'spend the day' }, key })).status).toBe(202)
    const exceeded = await stream.until((e) => e.event === 'error' && e.data.code === 'budget_exceeded')
    expect(exceeded.data.message).toContain('daily limit')
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE', key })

    const next = await createSession({}, key)
    await waitForStatus(next, 'idle', key)
    const refused = await api(`/v1/sessions/${next}/messages`, { body: { text: 'anything' }, key })
    expect(refused.status).toBe(402)
    expect(refused.body.error.code).toBe('budget_exceeded')
  })
})
