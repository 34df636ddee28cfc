import { describe, expect, it } from 'vitest'
import { api } from './helpers'

/** What a hostile tenant may not put in a session's environment nor name as a callback. */

describe('sandbox environment names', () => {
  const hijacking = [
    'HTTPS_PROXY',
    'https_proxy',
    'ALL_PROXY',
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'DYLD_INSERT_LIBRARIES',
    'NODE_OPTIONS',
    'NODE_EXTRA_CA_CERTS',
    'ANTHROPIC_BASE_URL',
    'OPENAI_BASE_URL',
    'SSL_CERT_FILE',
    'REQUESTS_CA_BUNDLE',
    'BASH_ENV',
    'ENV',
    'GIT_SSH_COMMAND',
    'GIT_CONFIG_GLOBAL',
    'PYTHONSTARTUP',
    'PYTHONPATH',
  ]

  it.each(hijacking)('%s is refused in env, secrets and MCP environments', async (name) => {
    const bodies = [
      { env: { [name]: 'x' } },
      { secrets: { [name]: 'x' } },
      { mcp: { tool: { type: 'local', command: ['echo'], environment: { [name]: 'x' } } } },
    ]
    for (const body of bodies) {
      const res = await api('/v1/sessions', { body })
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error.code).toBe('validation_failed')
      const paths = (res.body.error.details as { path: string }[]).map((d) => d.path)
      expect(paths.some((p) => p.endsWith(`.${name}`)), JSON.stringify(paths)).toBe(true)
    }
  })

  it('still takes ordinary names, a tool key among them', async () => {
    const res = await api('/v1/sessions', { body: { env: { APP_MODE: 'test', PROXY_NOTE: 'x' }, secrets: { STRIPE_API_KEY: 'sk_x' } } })
    expect(res.status).toBe(201)
    await api(`/v1/sessions/${res.body.id}`, { method: 'DELETE' })
  })
})

describe('callback URLs', () => {
  const refused = [
    'file:///etc/passwd',
    'ftp://example.com/hook',
    'gopher://example.com/hook',
    'https://user:secret@example.com/hook',
    'http://user@127.0.0.1:9/hook',
    // The stack allows local callbacks, yet http goes to loopback only.
    'http://10.0.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://example.com/hook',
    'javascript:alert(1)',
  ]

  it.each(refused)('%s is refused when a run starts', async (url) => {
    const res = await api('/v1/runs', { body: { prompt: 'hello', callback: { url } } })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('validation_failed')
    expect(JSON.stringify(res.body.error.details)).toContain('callback')
  })
})

describe("what only a run gives its session", () => {
  // The deployment's GitHub credential clones for runs; a tenant naming these would borrow it.
  it.each([{ githubClone: true }, { runId: 'run_x' }, { gatewayUrl: 'http://127.0.0.1:1/v1/gateway' }])('%j is refused on a new session', async (body) => {
    const res = await api('/v1/sessions', { body: { repo: { url: 'https://github.com/acme/private' }, ...body } })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('validation_failed')
  })
})
