import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createServer, type ServerResponse } from 'node:http'
import { MODEL_SETTINGS } from '../../src/config/missing-settings'
import { PROBE_TIMEOUT_MS, REUSE_MS } from '../../src/config/readiness'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { GiveUp, TEST_KEYS, waitFor, type Json } from './helpers'

/**
 * GET /ready and the `misconfigured` answer, through HTTP as an operator's load balancer or
 * client sees them: the shared stack (complete), one whose sandbox host goes away, and one
 * deployed with E2B but without its key and without any model.
 */

async function call(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; key?: string; signal?: AbortSignal } = {},
): Promise<{ status: number; body: Json; text: string }> {
  const headers: Record<string, string> = {}
  if (init.key) headers.authorization = `Bearer ${init.key}`
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  })
  const text = await res.text()
  return { status: res.status, body: JSON.parse(text) as Json, text }
}

let hostGone: OwnStack
let unconfigured: OwnStack

beforeAll(async () => {
  ;[hostGone, unconfigured] = await Promise.all([
    startOwnStack('ready-host'),
    // E2B as wrangler.toml deploys it, but nobody ran `wrangler secret put` for E2B or a model;
    // its repositories granted to an API key where a tenant id belongs, and a limit that is not a number.
    startOwnStack(
      'ready-unconfigured',
      { SANDBOX_PROVIDER: 'e2b', GITHUB_TENANT_REPOS: JSON.stringify({ [TEST_KEYS[0]]: ['acme/*'] }), MAX_RUN_CREATES_PER_MINUTE: 'lots' },
      { scriptedModel: false },
    ),
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

  it('reuses an answer for its window, then asks again; a host that hangs makes it answer 503 after the probe timeout, not hang', async () => {
    const { stack } = hostGone
    // In place of the stopped host, at its address: a stand-in that notes each probe, and answers it or holds it unanswered.
    const probes: number[] = []
    const held: ServerResponse[] = []
    let hang = false
    const standIn = createServer((_, res) => {
      probes.push(Date.now())
      if (hang) held.push(res)
      else res.writeHead(200, { 'content-type': 'application/json' }).end('[]')
    })
    await new Promise<void>((resolve) => standIn.listen(Number(new URL(stack.sandboxHostUrl).port), '127.0.0.1', resolve))
    try {
      await waitFor('/ready to see the host answer', async () => (await call(stack.url, '/ready')).status === 200)
      // Asked over and over: the host hears from it once per window, however often it is asked.
      const first = probes.length
      let asked = 0
      await waitFor('two more probes', async () => {
        asked++
        expect((await call(stack.url, '/ready')).status).toBe(200)
        return probes.length >= first + 2
      })
      const gaps = probes.slice(first - 1).map((at, i, all) => (i === 0 ? Infinity : at - all[i - 1]!))
      expect(asked).toBeGreaterThan(gaps.length)
      // The Worker's clock moves with its I/O, a few milliseconds behind the stand-in's.
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(REUSE_MS - 50)

      hang = true
      const probed = probes.length
      const answer = await waitFor('a probe of the hanging host', async () => {
        // A /ready that hangs with its probe never answers: it fails here, at a bound well past the probe's own.
        const res = await call(stack.url, '/ready', { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS * 4) }).catch((err: unknown) => {
          throw new GiveUp(`/ready did not answer: ${String(err)}`)
        })
        return probes.length > probed && res
      })
      expect(held.length).toBeGreaterThan(0)
      expect(answer.status).toBe(503)
      expect(answer.body).toEqual({ ready: false, provider: 'local', missing: [], reasons: ['the local sandbox host does not answer (LOCAL_SANDBOX_URL)'] })
    } finally {
      for (const res of held) res.destroy()
      standIn.closeAllConnections()
      await new Promise((resolve) => standIn.close(resolve))
    }
  })

  it('answers 503 naming the settings a deployment lacks, and a malformed one without its value', async () => {
    const res = await call(unconfigured.stack.url, '/ready')
    expect(res.status).toBe(503)
    expect(res.body).toEqual({
      ready: false,
      provider: 'e2b',
      missing: ['E2B_API_KEY', MODEL_SETTINGS],
      reasons: [
        'not set: E2B_API_KEY',
        `not set: ${MODEL_SETTINGS}`,
        'GITHUB_TENANT_REPOS is not valid: (a key that is not a tenant id): expected a tenant id (t_ and 32 hex digits) or "*", never an API key itself',
        'MAX_RUN_CREATES_PER_MINUTE is not valid: expected a whole number',
      ],
    })
    expect(res.text).not.toContain(TEST_KEYS[0])
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
