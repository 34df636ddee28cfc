import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, EventStream, waitForStatus } from '../helpers'

/** A deployment whose E2B key E2B refuses: sessions fail at once and say why, nothing retried forever. */

const WRONG_KEY = 'e2b_wrong_key_fedcba9876543210'
let own: OwnStack

beforeAll(async () => {
  own = await startOwnStack(
    'e2b-bad-key',
    { E2B_API_KEY: WRONG_KEY },
    { e2bStandIn: { apiKey: 'e2b_the_right_key_0123456789' }, scriptedModel: true },
  )
})

afterAll(async () => {
  await own?.close()
})

it('fails the session with a clear error when E2B refuses the API key', async () => {
  const id = await createSession({ prompt: 'never sent' })
  const stream = new EventStream(id, { after: 0 })
  try {
    const failed = await waitForStatus(id, 'failed')
    expect(failed.error).toEqual({ code: 'sandbox_unauthorized', message: expect.stringContaining('E2B_API_KEY') })
    await stream.until((e) => e.event === 'session.ended')
    const error = stream.events.find((e) => e.event === 'error')
    expect(error?.data).toMatchObject({ code: 'sandbox_unauthorized' })
    // One refusal is enough: a refused key is not retried.
    expect(
      stream.events.filter((e) => e.event === 'sandbox.status' && String(e.data.reason).startsWith('retrying')),
    ).toEqual([])
    expect(own.stack.e2b!.list()).toEqual([])
    const send = await api(`/v1/sessions/${id}/messages`, { body: { text: 'too late' } })
    expect(send.status).toBe(409)
    const everything = JSON.stringify(stream.events) + JSON.stringify(failed) + readFileSync(own.logFile, 'utf8')
    expect(everything).not.toContain(WRONG_KEY)
  } finally {
    await stream.close()
  }
})

it('is not ready, and /ready says E2B refused the key without showing it', async () => {
  const res = await api('/ready', { key: null })
  expect(res.status).toBe(503)
  expect(res.body).toEqual({ ready: false, provider: 'e2b', missing: [], reasons: ['E2B refused the API key (E2B_API_KEY)'] })
  expect(JSON.stringify(res.body)).not.toContain(WRONG_KEY)
})
