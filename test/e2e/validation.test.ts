import { beforeAll, describe, expect, it } from 'vitest'
import { PublicEventSchemas } from '../../src/contracts'
import { api, baseUrl, createSession, scripted, TEST_KEYS, waitForStatus } from './helpers'

/** The session the bad requests aim at, which the session tokens open afterwards: an agent's boot fewer. */
let id: string

beforeAll(async () => {
  id = await createSession({ title: 'target' })
  await waitForStatus(id, 'idle')
})

describe('bad requests get the right status and error, and change nothing', () => {

  const raw = (path: string, init: RequestInit & { key?: string | null } = {}) =>
    fetch(`${baseUrl()}${path}`, {
      ...init,
      headers: {
        ...(init.key !== null && { authorization: `Bearer ${init.key ?? TEST_KEYS[0]}` }),
        ...(init.headers as Record<string, string>),
      },
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { code: string; message: string; details?: unknown } } }))

  it.each([
    ['an unknown session', () => api('/v1/sessions/ses_00000000000000000000'), 404, 'not_found'],
    ['a malformed session id', () => api('/v1/sessions/not-an-id'), 400, 'validation_failed'],
    ['another tenant’s session', () => api(`/v1/sessions/${id}`, { key: TEST_KEYS[1] }), 404, 'not_found'],
    ['another tenant’s events', () => api(`/v1/sessions/${id}/events`, { key: TEST_KEYS[1] }), 404, 'not_found'],
    [
      'a message to another tenant’s session',
      () => api(`/v1/sessions/${id}/messages`, { key: TEST_KEYS[1], body: { text: 'hi' } }),
      404,
      'not_found',
    ],
    ['no API key', () => api('/v1/sessions', { key: null }), 401, 'unauthorized'],
    ['an unknown API key', () => api('/v1/sessions', { key: 'nope' }), 401, 'unauthorized'],
    ['an unknown route', () => api('/v1/nothing'), 404, 'not_found'],
  ])('%s', async (_name, call, status, code) => {
    const res = await call()
    expect(res.status).toBe(status)
    expect(res.body.error).toMatchObject({ code, message: expect.any(String) })
  })

  it('refuses malformed JSON', async () => {
    const res = await raw(`/v1/sessions/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text": ',
    })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('invalid_json')
  })

  it('refuses a body that is not JSON', async () => {
    const res = await raw(`/v1/sessions/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    })
    expect(res.status).toBe(415)
    expect(res.body.error.code).toBe('unsupported_media_type')
  })

  it('names each wrong field', async () => {
    const res = await api(`/v1/sessions/${id}/messages`, { body: { text: 42, surprise: true } })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('validation_failed')
    const paths = (res.body.error.details as { path: string }[]).map((d) => d.path)
    expect(paths).toContain('json.text')
    expect(paths.some((p) => p.startsWith('json'))).toBe(true)
  })

  it.each([
    [{ repo: { url: '--upload-pack=touch /tmp/x' } }, 'json.repo.url'],
    [{ repo: { url: 'https://example.com/r.git', ref: '-b' } }, 'json.repo.ref'],
    [{ model: 'no-slash' }, 'json.model'],
    [{ permissions: { bash: 'sometimes' } }, 'json.permissions.bash'],
  ])('refuses a bad session body %j', async (body, path) => {
    const res = await api('/v1/sessions', { body })
    expect(res.status).toBe(400)
    expect((res.body.error.details as { path: string }[]).map((d) => d.path)).toContain(path)
  })

  it('refuses an oversized body', async () => {
    // Messages take up to 15 MiB for their attachments (test/e2e/frontend-io.test.ts); other bodies 1 MiB.
    const res = await api('/v1/sessions', { body: { prompt: 'x'.repeat(1100 * 1024) } })
    expect(res.status).toBe(413)
    expect(res.body.error.code).toBe('payload_too_large')
  })

  it('refuses bad query values', async () => {
    const res = await api(`/v1/sessions?limit=0`)
    expect(res.status).toBe(400)
    const cursor = await api(`/v1/sessions?cursor=garbage!`)
    expect(cursor.status).toBe(400)
  })

  it('still works after all of that', async () => {
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=60`, { body: { text: scripted({ reply: 'still here' }) } })
    expect(res.status).toBe(200)
    expect(res.body.reply.text).toBe('still here')
    const conversation = await api(`/v1/sessions/${id}/messages`)
    expect(conversation.body).toHaveLength(2)
  })
})

describe('listing and service routes', () => {
  it('lists only the tenant’s sessions, newest first, a page at a time', async () => {
    const own = [await createSession({ title: 'one' }, TEST_KEYS[1]), await createSession({ title: 'two' }, TEST_KEYS[1])]
    const page1 = await api('/v1/sessions?limit=1', { key: TEST_KEYS[1] })
    expect(page1.status).toBe(200)
    expect(page1.body.items).toHaveLength(1)
    expect(page1.body.items[0].id).toBe(own[1])
    const page2 = await api(`/v1/sessions?limit=1&cursor=${page1.body.nextCursor}`, { key: TEST_KEYS[1] })
    expect(page2.body.items[0].id).toBe(own[0])
    const other = await api('/v1/sessions?limit=100')
    expect(other.body.items.map((s: { id: string }) => s.id)).not.toContain(own[0])
    for (const sid of own) await api(`/v1/sessions/${sid}`, { method: 'DELETE', key: TEST_KEYS[1] })
    const after = await api('/v1/sessions?limit=2', { key: TEST_KEYS[1] })
    expect(after.body.items.map((s: { status: string }) => s.status)).toEqual(['ended', 'ended'])
  })

  it('answers /health without a key', async () => {
    const res = await api('/health', { key: null })
    expect(res.status).toBe(200)
    expect(res.body.ok).toBe(true)
  })

  it('serves an OpenAPI document of the session routes', async () => {
    const res = await api('/openapi.json', { key: null })
    expect(res.status).toBe(200)
    expect(res.body.openapi).toBe('3.1.0')
    const routes = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\/$/, '')}`),
    )
    expect(routes.sort()).toEqual(
      [
        'GET /health',
        'GET /ready',
        'POST /v1/sessions',
        'GET /v1/sessions',
        'GET /v1/sessions/{id}',
        'PATCH /v1/sessions/{id}',
        'DELETE /v1/sessions/{id}',
        'POST /v1/sessions/{id}/messages',
        'GET /v1/sessions/{id}/messages',
        'GET /v1/sessions/{id}/events',
        'POST /v1/sessions/{id}/permissions/{permissionId}',
        'POST /v1/sessions/{id}/questions/{questionId}',
        'POST /v1/sessions/{id}/abort',
        'POST /v1/sessions/{id}/keepalive',
        'POST /v1/sessions/{id}/tokens',
        'GET /v1/sessions/{id}/diff',
        'GET /v1/sessions/{id}/files',
        'POST /v1/sessions/{id}/revert',
        'POST /v1/sessions/{id}/unrevert',
        'POST /v1/sessions/{id}/fork',
        'GET /v1/sessions/{id}/terminal',
        'GET /v1/sessions/{id}/checkpoints',
        'GET /v1/sessions/{id}/checkpoints/{n}/patch',
        'POST /v1/sessions/{id}/restore',
        'POST /v1/sessions/{id}/previews',
        'POST /v1/runs',
        'GET /v1/runs/{id}',
        'DELETE /v1/runs/{id}',
        'POST /v1/webhooks/runs',
        'POST /v1/webhooks/github',
        'POST /v1/webhooks/slack',
        'POST /v1/webhooks/slack/actions',
        'POST /v1/schedules',
        'GET /v1/schedules',
        'GET /v1/schedules/{id}',
        'PATCH /v1/schedules/{id}',
        'DELETE /v1/schedules/{id}',
        'POST /v1/schedules/{id}/pause',
        'POST /v1/schedules/{id}/resume',
        'GET /v1/schedules/{id}/runs',
        'GET /v1/usage',
        'GET /v1/tenant',
        'GET /v1/models',
        'GET /v1/agents',
        'GET /v1/snapshots',
        'DELETE /v1/snapshots/{id}',
      ].sort(),
    )
    for (const ops of Object.values(res.body.paths as Record<string, Record<string, { responses?: object }>>)) {
      for (const op of Object.values(ops)) expect(Object.keys(op.responses ?? {}).length).toBeGreaterThan(0)
    }
  })

  it('describes every event type of the stream in the OpenAPI document', async () => {
    const doc = (await api('/openapi.json', { key: null })).body
    const stream = doc.paths['/v1/sessions/{id}/events'].get.responses['200'].content['text/event-stream'].schema
    expect(stream.$ref).toBe('#/components/schemas/SessionEvent')
    const frames = (doc.components.schemas.SessionEvent.anyOf as { $ref: string }[]).map((r) => doc.components.schemas[r.$ref.split('/').pop()!])
    const described = frames.map((f) => f.properties.event.const ?? f.properties.event.enum?.[0])
    expect(described.sort()).toEqual(Object.keys(PublicEventSchemas).sort())
    for (const frame of frames) expect(frame.properties.data.required).toEqual(expect.arrayContaining(['sessionId', 'at']))
  })
})

describe('session tokens', () => {
  it('open one session, and only it, to a client that cannot send headers', async () => {
    const other = await createSession({ title: 'other' })
    const issued = await api(`/v1/sessions/${id}/tokens`, { body: { ttlSeconds: 60 } })
    expect(issued.status).toBe(201)
    const { token, expiresAt } = issued.body as { token: string; expiresAt: string }
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now())

    const viaToken = await api(`/v1/sessions/${id}?token=${encodeURIComponent(token)}`, { key: null })
    expect(viaToken.status).toBe(200)
    expect(viaToken.body.id).toBe(id)
    const events = await fetch(`${baseUrl()}/v1/sessions/${id}/events?token=${encodeURIComponent(token)}`)
    expect(events.status).toBe(200)
    expect(events.headers.get('content-type')).toContain('text/event-stream')
    await events.body?.cancel()

    const elsewhere = await api(`/v1/sessions/${other}?token=${encodeURIComponent(token)}`, { key: null })
    expect(elsewhere.status).toBe(401)
    const list = await api(`/v1/sessions?token=${encodeURIComponent(token)}`, { key: null })
    expect(list.status).toBe(401)
    const tampered = await api(`/v1/sessions/${id}?token=${encodeURIComponent(token.slice(0, -2) + 'xx')}`, { key: null })
    expect(tampered.status).toBe(401)
    const chained = await api(`/v1/sessions/${id}/tokens?token=${encodeURIComponent(token)}`, { key: null, body: {} })
    expect(chained.status).toBe(403)
    const foreign = await api(`/v1/sessions/${id}/tokens`, { key: TEST_KEYS[1], body: {} })
    expect(foreign.status).toBe(404)
    for (const sid of [id, other]) await api(`/v1/sessions/${sid}`, { method: 'DELETE' })
  })
})
