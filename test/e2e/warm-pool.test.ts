import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, EventStream, hostSandboxes, processAlive, waitFor, isIdleEvent } from './helpers'

/** A stack of its own, with a warm pool of two. */
let own: OwnStack

const warm = async () => (await hostSandboxes()).filter((s) => s.metadata.pool === 'default' && s.opencodePid)

beforeAll(async () => {
  own = await startOwnStack('pool', { WARM_POOL_SIZE: '2' })
})

afterAll(async () => {
  await own?.close()
})

describe('the warm pool', () => {
  it('fills up, hands each ready sandbox to one session only, and refills', async () => {
    const ready = async () => (await api('/health', { key: null })).body.warmPool as { target: number; ready: number }
    await waitFor('the pool to fill', async () => (await ready()).ready === 2, 90_000)
    const filled = await warm()
    expect(filled).toHaveLength(2)
    const a = await createSession()
    const b = await createSession()
    for (const id of [a, b]) {
      const stream = new EventStream(id)
      await stream.until(isIdleEvent)
      await stream.close()
      const steps = stream.events.filter((e) => e.event === 'sandbox.status').map((e) => e.data.reason ?? e.data.state)
      expect(steps).toEqual(['starting', 'warm', 'ready'])
    }
    const res = await api(`/v1/sessions/${a}/messages?wait=true&timeout=60`, { body: { text: 'hello from a warm sandbox' } })
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
})
