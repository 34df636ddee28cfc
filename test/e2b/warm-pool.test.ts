import { afterAll, beforeAll, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, EventStream, isIdleEvent, waitFor } from '../helpers'

/** The warm pool on E2B: sandboxes made ahead through the SDK, each handed to one session, then killed with it. */

let own: OwnStack

beforeAll(async () => {
  own = await startOwnStack('e2b-pool', { WARM_POOL_SIZE: '1' }, { e2bStandIn: { apiKey: 'e2b_pool_test_key_0123456789' }, scriptedModel: true })
})

afterAll(async () => {
  await own?.close()
})

const pooled = () =>
  own.stack
    .e2b!.list()
    .filter((s) => s.metadata.pool === 'default')
    .map((s) => s.sandboxId)

it('hands a ready E2B sandbox to a new session, refills, and kills the taken one with its session', async () => {
  await waitFor('the pool to fill', async () => (await api('/health', { key: null })).body.warmPool?.ready === 1, 90_000)
  const [first] = pooled()
  const id = await createSession()
  const stream = new EventStream(id)
  try {
    await stream.until(isIdleEvent)
    const steps = stream.events.filter((e) => e.event === 'sandbox.status').map((e) => e.data.reason ?? e.data.state)
    expect(steps).toEqual(['starting', 'warm', 'ready'])
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=60`, { body: { text: 'hello from a warm E2B sandbox' } })
    expect(res.body.reply.text).toContain('hello from a warm E2B sandbox')
  } finally {
    await stream.close()
  }
  await waitFor('the pool to refill', async () => pooled().some((s) => s !== first) && (await api('/health', { key: null })).body.warmPool?.ready === 1, 90_000)
  await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  await waitFor('the taken sandbox to be killed', async () => !pooled().includes(first!))
  expect(pooled()).toHaveLength(1)
})

it('holds no connection open to a warm sandbox once it is ready: opencode runs on with its command handle let go', async () => {
  await waitFor('the pool to fill', async () => (await api('/health', { key: null })).body.warmPool?.ready === 1, 90_000)
  const warm = own.stack.e2b!.list().filter((s) => s.metadata.pool === 'default')
  expect(warm).toHaveLength(1)
  // opencode answers (the pool checked it before counting the sandbox ready) with no stream left open to it.
  expect(warm.map((s) => s.openStreams)).toEqual([0])
})
