import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { MODEL_SETTINGS } from '../../src/missing-settings'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { TEST_KEYS, waitFor, type Json } from './helpers'

/**
 * GET /ready and the `misconfigured` answer, through HTTP as an operator's load balancer or
 * client sees them: the shared stack (complete), one whose sandbox host goes away, and one
 * deployed with E2B but without its key and without any model.
 */

async function call(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; key?: string } = {},
): Promise<{ status: number; body: Json; text: string }> {
  const headers: Record<string, string> = {}
  if (init.key) headers.authorization = `Bearer ${init.key}`
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  const text = await res.text()
  return { status: res.status, body: JSON.parse(text) as Json, text }
}

let hostGone: OwnStack
let unconfigured: OwnStack

beforeAll(async () => {
  ;[hostGone, unconfigured] = await Promise.all([
    startOwnStack('ready-host'),
    // E2B as wrangler.toml deploys it, but nobody ran `wrangler secret put` for E2B or a model.
    startOwnStack('ready-unconfigured', { SANDBOX_PROVIDER: 'e2b' }, { scriptedModel: false }),
  ])
})

afterAll(async () => {
  await Promise.all([hostGone?.close(), unconfigured?.close()])
})

describe('GET /ready', () => {
  it('answers 200 without a key when the settings are complete and the sandbox host answers', async () => {
    const res = await call(inject('workerUrl'), '/ready')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ ready: true, provider: 'local', missing: [], reasons: [] })
    expect(res.text).not.toContain(inject('sandboxHostUrl'))
    expect(res.text).not.toContain(inject('sandboxHostToken'))
  })

  it('answers 503 and says why once the sandbox host is gone, never its address', async () => {
    const { stack } = hostGone
    expect((await call(stack.url, '/ready')).status).toBe(200)
    await stack.stopSandboxHost()
    const down = await waitFor('/ready to see the host gone', async () => {
      const res = await call(stack.url, '/ready')
      return res.status === 503 ? res : undefined
    })
    expect(down.body).toEqual({
      ready: false,
      provider: 'local',
      missing: [],
      reasons: ['the local sandbox host does not answer (LOCAL_SANDBOX_URL)'],
    })
    expect(down.text).not.toContain(stack.sandboxHostUrl)
    expect(down.text).not.toContain(stack.sandboxHostToken)
  })

  it('answers 503 naming the settings a deployment lacks', async () => {
    const res = await call(unconfigured.stack.url, '/ready')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({
      ready: false,
      provider: 'e2b',
      missing: ['E2B_API_KEY', MODEL_SETTINGS],
      reasons: ['not set: E2B_API_KEY', `not set: ${MODEL_SETTINGS}`],
    })
  })
})

describe('a deployment missing settings', () => {
  const misconfigured = {
    error: {
      code: 'misconfigured',
      message: expect.stringContaining(`E2B_API_KEY; ${MODEL_SETTINGS}`),
      details: { missing: ['E2B_API_KEY', MODEL_SETTINGS] },
    },
  }

  it('refuses to create a session at once with 503 misconfigured, naming what to set', async () => {
    const res = await call(unconfigured.stack.url, '/v1/sessions', { method: 'POST', body: { prompt: 'hello' }, key: TEST_KEYS[0] })
    expect(res.status).toBe(503)
    expect(res.body).toEqual(misconfigured)
    const list = await call(unconfigured.stack.url, '/v1/sessions', { key: TEST_KEYS[0] })
    expect(list.body.items).toEqual([])
  })

  it('refuses to start a run the same way', async () => {
    const res = await call(unconfigured.stack.url, '/v1/runs', { method: 'POST', body: { prompt: 'hello' }, key: TEST_KEYS[0] })
    expect(res.status).toBe(503)
    expect(res.body).toEqual(misconfigured)
  })

  it('still asks for a key first', async () => {
    const res = await call(unconfigured.stack.url, '/v1/sessions', { method: 'POST', body: {} })
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('unauthorized')
  })

  it('leaves the other routes alone', async () => {
    const res = await call(unconfigured.stack.url, '/v1/sessions/ses_00000000000000000000', { key: TEST_KEYS[0] })
    expect(res.status).toBe(404)
    expect((await call(unconfigured.stack.url, '/health')).status).toBe(200)
  })
})
