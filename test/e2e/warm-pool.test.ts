import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, EventStream, hostSandboxes, processAlive, TEST_KEYS, waitFor, isIdleEvent } from './helpers'

/** A stack of its own, with a warm pool of two; a tenant may have two sessions open at once. */
let own: OwnStack

const warm = async () => (await hostSandboxes()).filter((s) => s.metadata.pool === 'default' && s.opencodePid)

beforeAll(async () => {
  own = await startOwnStack('pool', { WARM_POOL_SIZE: '2', MAX_ACTIVE_SESSIONS_PER_TENANT: '2' })
})

afterAll(async () => {
  await own?.close()
})

describe('the warm pool', () => {
  it('fills up, hands each ready sandbox to one session only, idle in the answer and taking a message at once, and refills', async () => {
    const ready = async () => (await api('/health', { key: null })).body.warmPool as { target: number; ready: number }
    await waitFor('the pool to fill', async () => (await ready()).ready === 2, 90_000)
    const filled = await warm()
    expect(filled).toHaveLength(2)
    const created = await api('/v1/sessions', { method: 'POST', body: {} })
    // Ready as it takes a pooled sandbox: idle in the answer, its agent's stream still being attached.
    expect(created.body.status).toBe('idle')
    const a = created.body.id as string
    // Sent the moment the answer says idle: it waits for the attach, never lost.
    const replied = api(`/v1/sessions/${a}/messages?wait=true&timeout=60`, { body: { text: 'hello from a warm sandbox' } })
    const b = await createSession()
    for (const id of [a, b]) {
      const stream = new EventStream(id)
      await stream.until(isIdleEvent)
      await stream.close()
      const steps = stream.events.filter((e) => e.event === 'sandbox.status').map((e) => e.data.reason ?? e.data.state)
      expect(steps).toEqual(['starting', 'warm', 'ready'])
    }
    const res = await replied
    expect(res.body.reply.text).toContain('hello from a warm sandbox')

    await waitFor('the pool to refill', async () => (await ready()).ready === 2, 90_000)
    expect((await warm()).filter((s) => !filled.some((f) => f.sandboxId === s.sandboxId))).toHaveLength(2)
    // Deleting a session destroys its sandbox; it never returns to the pool.
    await api(`/v1/sessions/${a}`, { method: 'DELETE' })
    await api(`/v1/sessions/${b}`, { method: 'DELETE' })
    await waitFor('the taken sandboxes to be gone', async () => filled.every((f) => !processAlive(f.opencodePid!)))
    const after = await warm()
    expect(after.map((s) => s.sandboxId).some((id) => filled.some((f) => f.sandboxId === id))).toBe(false)
  })

  it('refills what a burst took several sandboxes at once, back to full', async () => {
    const ready = async () => (await api('/health', { key: null })).body.warmPool as { target: number; ready: number }
    await waitFor('the pool to fill', async () => (await ready()).ready === 2, 90_000)
    const before = (await hostSandboxes()).filter((s) => s.metadata.pool === 'default').map((s) => s.sandboxId)
    const ids = await Promise.all([createSession(), createSession()])
    // Sandboxes of the pool on the host that were not there before the burst, less those the pool
    // holds ready: the ones being made. The host is read first, so one that turns ready between
    // the two reads lowers the count; it never counts a ready one as being made.
    let mostAtOnce = 0
    await waitFor(
      'the pool to be full again',
      async () => {
        const fresh = (await hostSandboxes()).filter((s) => s.metadata.pool === 'default' && !before.includes(s.sandboxId))
        const { ready: inPool } = await ready()
        mostAtOnce = Math.max(mostAtOnce, fresh.length - inPool)
        return inPool === 2
      },
      180_000,
    )
    expect(mostAtOnce).toBe(2)
    for (const id of ids) await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('starts a session that needs its own setup cold', async () => {
    const id = await createSession({ files: [{ path: 'a.txt', content: 'mine' }] })
    const stream = new EventStream(id)
    await stream.until(isIdleEvent)
    await stream.close()
    const steps = stream.events.filter((e) => e.event === 'sandbox.status').map((e) => e.data.reason ?? e.data.state)
    expect(steps).toContain('creating')
    expect(steps).not.toContain('warm')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('keeps the sandbox it handed to a session that the tenant limits then refused', async () => {
    const ready = async () => (await api('/health', { key: null })).body.warmPool as { target: number; ready: number }
    await waitFor('the pool to fill', async () => (await ready()).ready === 2, 90_000)
    const pooled = (await warm()).map((s) => s.sandboxId).sort()
    // Two sessions of their own setup (never from the pool) bring the tenant to its limit.
    const key = TEST_KEYS[1]
    const open = [await createSession({ files: [{ path: 'a.txt', content: '1' }] }, key), await createSession({ files: [{ path: 'b.txt', content: '2' }] }, key)]
    const refused = await api('/v1/sessions', { method: 'POST', body: {}, key })
    expect(refused.status).toBe(429)
    expect(refused.body.error.code).toBe('too_many_requests')
    expect((await ready()).ready).toBe(2)
    expect((await warm()).map((s) => s.sandboxId).sort()).toEqual(expect.arrayContaining(pooled))
    for (const id of open) await api(`/v1/sessions/${id}`, { method: 'DELETE', key })
  })

  it('answers a warm start idle at once, and replaces a pooled sandbox found dead after with the message sent meanwhile kept', async () => {
    const ready = async () => (await api('/health', { key: null })).body.warmPool as { target: number; ready: number }
    await waitFor('the pool to fill', async () => (await ready()).ready === 2, 90_000)
    // Both, so that whichever the pool hands out is dead; its own agent checks were passed long ago.
    const pooled = await warm()
    for (const s of pooled) process.kill(s.opencodePid!, 'SIGKILL')
    await waitFor('the pooled agents to be gone', async () => pooled.every((s) => !processAlive(s.opencodePid!)))
    const created = await api('/v1/sessions', { method: 'POST', body: {} })
    expect(created.status).toBe(201)
    // The pool keeps its agents verified: the session is ready as it takes one, before the attach finds it dead.
    expect(created.body.status).toBe('idle')
    const id = created.body.id as string
    // Sent straight after the answer: it waits for the replacement's agent, and is never lost or failed.
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: 'hello from the replacement' } })
    expect(res.status).toBe(200)
    expect(res.body.reply.text).toContain('hello from the replacement')
    const stream = new EventStream(id, { after: 0 })
    await stream.until((e) => e.event === 'message.completed' && e.data.role === 'assistant')
    await stream.close()
    const statuses = stream.events.filter((e) => e.event === 'sandbox.status')
    const steps = statuses.map((e) => e.data.step)
    expect(steps.slice(0, 4)).toEqual(['provisioning', 'warm', 'started', 'warm_failed'])
    expect(steps).toContain('creating')
    expect(statuses.at(-1)!.data.state).toBe('ready')
    // Idle, then starting again for the replacement, then idle once its agent is attached.
    const session = stream.events.filter((e) => e.event === 'session.status').map((e) => e.data.status)
    expect(session.slice(0, 4)).toEqual(['starting', 'idle', 'starting', 'idle'])
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
