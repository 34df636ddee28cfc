import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from '@lydell/node-pty'
import { createOpencodeClient } from '@opencode-ai/sdk/v2/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, baseUrl, expectAnswered, newIdleSession, TEST_KEYS, waitFor } from './helpers'

const OWNER = TEST_KEYS[0]
const STRANGER = TEST_KEYS[1]

/** A call to opencode's API through the session, with the given Authorization (none: null). */
async function raw(id: string, path: string, init: { method?: string; authorization?: string | null; body?: unknown } = {}) {
  const headers: Record<string, string> = {}
  if (init.authorization !== null) headers.authorization = init.authorization ?? `Bearer ${OWNER}`
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${baseUrl()}/v1/sessions/${id}/opencode${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  return { status: res.status, text: await res.text() }
}

const basic = (password: string) => `Basic ${Buffer.from(`opencode:${password}`).toString('base64')}`

describe('opencode’s own API on a session', () => {
  let id: string
  beforeAll(async () => {
    id = await newIdleSession({}, OWNER)
    await expectAnswered(id, 'the reply opencode’s own clients see')
  })
  afterAll(async () => {
    await api(`/v1/sessions/${id}`, { method: 'DELETE', key: OWNER })
  })

  it('shows opencode’s SDK the session’s conversation, in the session’s workspace', async () => {
    const client = createOpencodeClient({ baseUrl: `${baseUrl()}/v1/sessions/${id}/opencode`, headers: { authorization: `Bearer ${OWNER}` }, directory: '/somewhere/else' })
    const sessions = (await client.session.list()).data ?? []
    expect(sessions).toHaveLength(1)
    const messages = (await client.session.messages({ sessionID: sessions[0]!.id })).data ?? []
    const texts = messages.flatMap((m) => m.parts.flatMap((p) => (p.type === 'text' ? [p.text] : [])))
    expect(texts.join('\n')).toContain('the reply opencode’s own clients see')
    const path = (await client.path.get()).data
    expect(path?.directory).toMatch(/\/workspace$/)
  })

  it('lets `opencode attach` (the npm package’s binary) connect through the Worker and show the conversation', async () => {
    // A person's machine: a home of its own, in a folder the sandbox does not have.
    const home = mkdtempSync(join(tmpdir(), 'attach-'))
    const attach = spawn(join(process.cwd(), 'node_modules', '.bin', 'opencode'), ['attach', `${baseUrl()}/v1/sessions/${id}/opencode`, '--password', OWNER, '--continue'], {
      cols: 160,
      rows: 50,
      cwd: home,
      // No update check or models.dev fetch: this machine reaches no one but the Worker.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TERM: 'xterm-256color', OPENCODE_DISABLE_AUTOUPDATE: '1', OPENCODE_DISABLE_MODELS_FETCH: '1' },
    })
    let screen = ''
    attach.onData((text) => (screen += text))
    try {
      // The screen as text: escape sequences out, so that what the TUI drew reads as words.
      const drawn = () => screen.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07/g, '')
      await waitFor('the conversation on opencode’s own screen', () => drawn().includes('the reply opencode’s own clients see'), 60_000)
      expect(drawn()).toMatch(/\/workspace/)
    } finally {
      attach.kill('SIGKILL')
      rmSync(home, { recursive: true, force: true })
    }
  })

  it('refuses what would change or show the gateway’s credentials, and shows the configuration without them', async () => {
    const refused = [['PATCH', '/config'], ['PATCH', '/global/config'], ['PUT', '/auth/openai'], ['POST', '/global/dispose'], ['POST', '/provider/openai/oauth/authorize'], ['DELETE', '/session/any']] as const
    for (const [method, path] of refused) {
      const res = await raw(id, path, { method, body: { type: 'api', key: 'sk-mine' } })
      expect(res.status, `${method} ${path}`).toBe(403)
      expect(JSON.parse(res.text).error.code).toBe('forbidden')
    }
    const config = await raw(id, '/config')
    expect(config.status).toBe(200)
    expect(config.text).toContain('/v1/gateway/')
    expect(config.text).not.toMatch(/apiKey/)
    const providers = await raw(id, '/config/providers')
    expect(providers.status).toBe(200)
    expect(providers.text).not.toMatch(/apiKey/)
    // The agent still answers: nothing above reached it.
    await expectAnswered(id, 'still here')
  })

  it('opens with the API key or a terminal token (bearer, ?token= or a Basic password), never a read-only token or another tenant’s key', async () => {
    const read = (await api(`/v1/sessions/${id}/tokens`, { body: {}, key: OWNER })).body.token as string
    const terminal = (await api(`/v1/sessions/${id}/tokens`, { body: { scope: 'terminal' }, key: OWNER })).body.token as string
    expect((await raw(id, '/session', { authorization: basic(OWNER) })).status).toBe(200)
    expect((await raw(id, '/session', { authorization: basic(terminal) })).status).toBe(200)
    expect((await raw(id, `/session?token=${terminal}`, { authorization: null })).status).toBe(200)
    expect((await raw(id, '/session', { authorization: basic(read) })).status).toBe(403)
    expect((await raw(id, `/session?token=${read}`, { authorization: null })).status).toBe(403)
    expect((await raw(id, '/session', { authorization: `Bearer ${STRANGER}` })).status).toBe(404)
    expect((await raw(id, '/session', { authorization: basic(STRANGER) })).status).toBe(404)
    expect((await raw(id, '/session', { authorization: basic('wrong') })).status).toBe(401)
    expect((await raw(id, '/session', { authorization: null })).status).toBe(401)
  })
})
