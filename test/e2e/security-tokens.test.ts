import { createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, baseUrl, createSession, TEST_KEYS } from './helpers'

/** Session tokens, attacked as a hostile tenant would: forged, stretched, malformed, and used to write. */

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url')
const resign = (payload: object, key: string) => {
  const body = b64url(JSON.stringify(payload))
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
}
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>
const withToken = (path: string, token: string, init: { method?: string; body?: unknown } = {}) =>
  api(`${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`, { ...init, key: null })

describe('session tokens', () => {
  let mine: string // tenant A's session
  let theirs: string // tenant B's session
  let theirToken: string

  beforeAll(async () => {
    mine = await createSession({ title: 'tenant A' }, TEST_KEYS[0])
    theirs = await createSession({ title: 'tenant B' }, TEST_KEYS[1])
    const issued = await api(`/v1/sessions/${theirs}/tokens`, { key: TEST_KEYS[1], body: { ttlSeconds: 60 } })
    expect(issued.status).toBe(201)
    theirToken = issued.body.token as string
  })

  afterAll(async () => {
    await api(`/v1/sessions/${mine}`, { method: 'DELETE', key: TEST_KEYS[0] })
    await api(`/v1/sessions/${theirs}`, { method: 'DELETE', key: TEST_KEYS[1] })
  })

  it("verify only under the key of the tenant they name: B's token re-signed with A's own key opens nothing", async () => {
    const claims = claimsOf(theirToken)
    const far = Math.floor(Date.now() / 1000) + 10 * 365 * 24 * 3600
    const forged = resign({ ...claims, exp: far }, TEST_KEYS[0])
    const res = await withToken(`/v1/sessions/${theirs}`, forged)
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('unauthorized')
    // Not even with an ordinary expiry: the key, not the lifetime, is what is refused.
    const sameExpiry = await withToken(`/v1/sessions/${theirs}`, resign(claims, TEST_KEYS[0]))
    expect(sameExpiry.status).toBe(401)
    // The genuine token still works.
    expect((await withToken(`/v1/sessions/${theirs}`, theirToken)).status).toBe(200)
  })

  it('are refused when they expire further out than a token can be issued for', async () => {
    const claims = claimsOf(theirToken)
    const stretched = resign({ ...claims, exp: Math.floor(Date.now() / 1000) + 2 * 24 * 3600 }, TEST_KEYS[1])
    expect((await withToken(`/v1/sessions/${theirs}`, stretched)).status).toBe(401)
    const expired = resign({ ...claims, exp: Math.floor(Date.now() / 1000) - 1 }, TEST_KEYS[1])
    expect((await withToken(`/v1/sessions/${theirs}`, expired)).status).toBe(401)
  })

  it('answer 401, never 500, when malformed', async () => {
    const key = TEST_KEYS[1]
    const claims = claimsOf(theirToken)
    const malformed = [
      'bnVsbA.AAAA', // null
      `${b64url('[1,2]')}.AAAA`,
      `${b64url('"text"')}.AAAA`,
      `${b64url('{}')}.AAAA`,
      `${b64url('not json')}.AAAA`,
      '!!!.###',
      'a.b.c',
      '.',
      '',
      'x'.repeat(5000),
      resign({ ...claims, exp: String(claims.exp) }, key),
      resign({ ...claims, sessionId: 42 }, key),
      resign({ ...claims, tenant: { $ne: null } }, key),
      resign({ ...claims, exp: 1e308 }, key),
      `${theirToken.split('.')[0]}.%%%`,
    ]
    for (const token of malformed) {
      const res = await withToken(`/v1/sessions/${theirs}`, token)
      expect(res.status, token).toBe(401)
      expect(res.body.error.code, token).toBe('unauthorized')
    }
  })

  it('only read: GET of the session, its events and its messages; anything else is 403', async () => {
    const token = (await api(`/v1/sessions/${mine}/tokens`, { body: { ttlSeconds: 60 } })).body.token as string
    expect((await withToken(`/v1/sessions/${mine}`, token)).status).toBe(200)
    expect((await withToken(`/v1/sessions/${mine}/messages`, token)).status).toBe(200)
    const events = await fetch(`${baseUrl()}/v1/sessions/${mine}/events?token=${encodeURIComponent(token)}`)
    expect(events.status).toBe(200)
    await events.body?.cancel()

    const writes: [string, string, unknown?][] = [
      ['DELETE', ''],
      ['PATCH', '', { title: 'renamed' }],
      ['POST', '/messages', { text: 'hello' }],
      ['POST', '/abort', {}],
      ['POST', '/keepalive', {}],
      ['POST', '/tokens', {}],
      ['POST', '/permissions/per_00000000000000000000', { reply: 'once' }],
      ['GET', '/diff'],
      ['GET', '/files'],
    ]
    for (const [method, suffix, body] of writes) {
      const res = await withToken(`/v1/sessions/${mine}${suffix}`, token, { method, body })
      expect(res.status, `${method} ${suffix}`).toBe(403)
      expect(res.body.error.code).toBe('forbidden')
    }
    const after = await api(`/v1/sessions/${mine}`)
    expect(after.body.status).not.toBe('ended')
    expect(after.body.title).toBe('tenant A')
  })
})
