import { createHmac } from 'node:crypto'
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import {
  api,
  baseUrl,
  CALLBACK_SECRET,
  EventStream,
  finished,
  fixtureRepo,
  GITHUB_WEBHOOK_SECRET,
  sandboxesOf,
  scripted,
  sign,
  TEST_KEYS,
  waitFor,
  webhook,
  WEBHOOK_SECRET,
  words,
  type Json,
} from './helpers'
import { startReceiver, type Received, type Receiver } from './receivers'

const now = () => String(Math.floor(Date.now() / 1000))
/** Our webhooks and callbacks sign `<X-Timestamp>.<raw body>`. */
const signed = (secret: string, body: string, timestamp = now()) => ({
  'x-timestamp': timestamp,
  'x-signature-256': sign(secret, `${timestamp}.${body}`),
})

describe('background runs', () => {
  let repo: string
  let receiver: Receiver

  beforeAll(async () => {
    repo = fixtureRepo('run-repo', { 'README.md': '# fixture\n' })
    // The first two callbacks fail; the third is taken.
    receiver = await startReceiver((n) => (n < 2 ? 503 : 200))
  })

  afterAll(async () => {
    await receiver.close()
    rmSync(repo, { recursive: true, force: true })
  })

  it('edits a file in a cloned repo, succeeds with the diff, stops its sandbox, and calls back until delivered', async () => {
    const started = await api('/v1/runs', {
      body: {
        prompt: scripted({
          steps: [{ tool: { name: 'write', args: { filePath: 'CHANGELOG.md', content: 'first change\n' } } }, { text: 'Added a changelog.' }],
        }),
        repo: { url: repo },
        callback: { url: `${receiver.url}/hook` },
      },
    })
    expect(started.status).toBe(202)
    expect(started.body).toMatchObject({ id: expect.stringMatching(/^run_/), sessionId: expect.stringMatching(/^ses_/), status: 'running' })
    const run = await finished(started.body.id as string)
    expect(run.status).toBe('succeeded')
    expect(run.result.text).toBe('Added a changelog.')
    expect(run.result.diff).toContain('CHANGELOG.md')
    expect(run.result.diff).toContain('+first change')
    expect(run.result.usage.outputTokens).toBeGreaterThan(0)
    await waitFor('the sandbox to stop', async () => (await sandboxesOf(run.sessionId as string)).length === 0)

    const delivered = await waitFor('the callback to be delivered', async () => {
      const r = await api(`/v1/runs/${run.id}`)
      return r.body.callback?.state === 'delivered' ? r.body : undefined
    })
    expect(delivered.callback.attempts.map((a: { status: number }) => a.status)).toEqual([503, 503, 200])
    const calls = receiver.received.filter((r: Received) => JSON.parse(r.body).id === run.id)
    expect(calls).toHaveLength(3)
    const { callbackSigningKey } = (await api('/v1/tenant')).body
    for (const call of calls) {
      const timestamp = call.headers['x-timestamp'] as string
      expect(call.headers['x-signature-256']).toBe(sign(callbackSigningKey, `${timestamp}.${call.body}`))
      expect(call.headers['x-signature-256']).not.toBe(sign(WEBHOOK_SECRET, `${timestamp}.${call.body}`))
      expect(Math.abs(Number(call.headers['x-timestamp']) - Date.now() / 1000)).toBeLessThan(600)
      expect(JSON.parse(call.body)).toMatchObject({ id: run.id, status: 'succeeded' })
    }
  })

  it('never waits on a human: a denied command still lets the run end', async () => {
    const started = await api('/v1/runs', {
      body: {
        prompt: scripted({ steps: [{ tool: { name: 'bash', args: { command: 'touch denied.txt', description: 'x' } } }, { text: 'could not' }] }),
        permissions: { bash: 'ask' },
      },
    })
    const run = await finished(started.body.id as string)
    expect(run.status).toBe('succeeded')
    expect(run.result.text).toBe('could not')
    // A command that ran would have left its file in the workspace, and so in the run's diff (new files included).
    expect(run.result.diff ?? '').not.toContain('denied.txt')
    const log = new EventStream(run.sessionId as string)
    await waitFor('the ended session to replay its log', async () => log.ended)
    expect(log.events.some((e) => e.event === 'permission.requested')).toBe(false)
    const bashCalls = log.events.filter((e) => e.event === 'tool.updated' && e.data.tool === 'bash')
    expect(bashCalls.length).toBeGreaterThan(0)
    expect(bashCalls.some((e) => e.data.state === 'completed')).toBe(false)
  })

  it('times out, and its sandbox is gone', async () => {
    const started = await api('/v1/runs', {
      body: { prompt: scripted({ reply: words(400, 't'), delayMs: 100 }), timeoutSeconds: 10 },
    })
    const run = await finished(started.body.id as string)
    expect(run.status).toBe('timed_out')
    expect(run.error.code).toBe('timed_out')
    await waitFor('the sandbox to stop', async () => (await sandboxesOf(run.sessionId as string)).length === 0)
  })

  it('can be cancelled', async () => {
    const started = await api('/v1/runs', { body: { prompt: scripted({ reply: 'slow '.repeat(300), delayMs: 100 }) } })
    // Cancelled mid-turn, so that stopping the sandbox is something the cancel has to do.
    const live = new EventStream(started.body.sessionId as string)
    await live.until((e) => e.event === 'message.delta')
    await live.close()
    expect(await sandboxesOf(started.body.sessionId as string)).toHaveLength(1)
    const res = await api(`/v1/runs/${started.body.id}`, { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('cancelled')
    await waitFor('the sandbox to stop', async () => (await sandboxesOf(started.body.sessionId as string)).length === 0)
  })

  it('starts one run for one idempotency key', async () => {
    const body = { prompt: scripted({ reply: 'once' }), idempotencyKey: `key-${Date.now()}` }
    const a = await api('/v1/runs', { body })
    const b = await api('/v1/runs', { body })
    expect(b.body.id).toBe(a.body.id)
    expect(b.body.sessionId).toBe(a.body.sessionId)
    const other = await api('/v1/runs', { body: { ...body, idempotencyKey: `${body.idempotencyKey}-2` } })
    expect(other.body.id).not.toBe(a.body.id)
    await finished(a.body.id as string)
    await finished(other.body.id as string)
  })

  it('validates runs and keeps them to their tenant', async () => {
    const bad = await api('/v1/runs', { body: { prompt: '' } })
    expect(bad.status).toBe(400)
    const unknown = await api('/v1/runs/run_00000000000000000000')
    expect(unknown.status).toBe(404)

    const started = await api('/v1/runs', { body: { prompt: scripted({ reply: 'mine alone' }) } })
    const runId = started.body.id as string
    const peek = await api(`/v1/runs/${runId}`, { key: TEST_KEYS[1] })
    expect(peek.status).toBe(404)
    expect(peek.body.error.code).toBe('not_found')
    const cancel = await api(`/v1/runs/${runId}`, { method: 'DELETE', key: TEST_KEYS[1] })
    expect(cancel.status).toBe(404)
    const events = await fetch(`${baseUrl()}/v1/sessions/${started.body.sessionId}/events`, {
      headers: { authorization: `Bearer ${TEST_KEYS[1]}` },
    })
    expect(events.status).toBe(404)
    await events.body?.cancel()
    const run = await finished(runId)
    expect(run.status).toBe('succeeded')
    expect(run.result.text).toBe('mine alone')
  })
})

describe('callbacks per tenant', () => {
  it("signs a tenant's callbacks with its own key, which names it and which another tenant's key does not verify", async () => {
    const receiver = await startReceiver(() => 200)
    try {
      const a = await api('/v1/tenant', { key: TEST_KEYS[0] })
      const b = await api('/v1/tenant', { key: TEST_KEYS[1] })
      expect(a.status).toBe(200)
      expect(b.status).toBe(200)
      expect(a.body).toEqual({ id: expect.stringMatching(/^t_/), callbackSigningKey: expect.stringMatching(/^[0-9a-f]{64}$/) })
      expect(b.body.id).not.toBe(a.body.id)
      expect(b.body.callbackSigningKey).not.toBe(a.body.callbackSigningKey)
      // An operator can derive any tenant's key; a tenant holds only its own.
      expect(a.body.callbackSigningKey).toBe(createHmac('sha256', CALLBACK_SECRET).update(a.body.id).digest('hex'))

      const started = await api('/v1/runs', { body: { prompt: scripted({ reply: 'for A' }), callback: { url: `${receiver.url}/a` } }, key: TEST_KEYS[0] })
      expect(started.status).toBe(202)
      const run = await finished(started.body.id as string)
      expect(run.tenant).toBe(a.body.id)
      const [call] = await waitFor('the callback to arrive', async () => (receiver.received.length > 0 ? receiver.received : undefined))
      const signed = `${call!.headers['x-timestamp']}.${call!.body}`
      expect(JSON.parse(call!.body)).toMatchObject({ id: run.id, tenant: a.body.id, status: 'succeeded' })
      expect(call!.headers['x-signature-256']).toBe(sign(a.body.callbackSigningKey, signed))
      // B's receiver, checking with B's key, refuses what was sent for A; nor is the deployment's secret the key.
      expect(call!.headers['x-signature-256']).not.toBe(sign(b.body.callbackSigningKey, signed))
      expect(call!.headers['x-signature-256']).not.toBe(sign(CALLBACK_SECRET, signed))

      // A session token is not the API key: it gets no key.
      const token = await api(`/v1/sessions/${run.sessionId}/tokens`, { body: {}, key: TEST_KEYS[0] })
      const withToken = await api(`/v1/tenant?token=${encodeURIComponent(token.body.token as string)}`, { key: null })
      expect(withToken.status).toBe(401)
      expect(JSON.stringify(withToken.body)).not.toContain(a.body.callbackSigningKey)
    } finally {
      await receiver.close()
    }
  })
})

describe('signed webhooks', () => {
  const body = () => JSON.stringify({ prompt: scripted({ reply: 'from a webhook' }), idempotencyKey: `hook-${Date.now()}-${Math.random()}` })

  it('start a run when the signature and timestamp are right, once per idempotency key', async () => {
    const raw = body()
    const timestamp = now()
    const first = await webhook('/v1/webhooks/runs', raw, signed(WEBHOOK_SECRET, raw, timestamp))
    expect(first.status).toBe(202)
    // Signed anew (a signature is accepted once), with a timestamp other than the first's even when a second has passed since: the idempotency key finds the same run.
    const again = await webhook('/v1/webhooks/runs', raw, signed(WEBHOOK_SECRET, raw, String(Number(timestamp) - 1)))
    expect(again.status).toBe(202)
    expect(again.body.id).toBe(first.body.id)
    const run = await finished(first.body.id as string)
    expect(run.result.text).toBe('from a webhook')
  })

  it('refuse a wrong signature, a missing one, and a stale timestamp', async () => {
    const raw = body()
    const wrong = await webhook('/v1/webhooks/runs', raw, signed('not-the-secret', raw))
    expect(wrong.status).toBe(401)
    const missing = await webhook('/v1/webhooks/runs', raw, { 'x-timestamp': now() })
    expect(missing.status).toBe(401)
    const stale = await webhook('/v1/webhooks/runs', raw, signed(WEBHOOK_SECRET, raw, String(Math.floor(Date.now() / 1000) - 600)))
    expect(stale.status).toBe(401)
    expect(stale.body.error.code).toBe('unauthorized')
  })
})

describe('the GitHub trigger', () => {
  let repo: string

  beforeAll(() => {
    repo = fixtureRepo('gh-repo', { 'a.txt': 'a\n' })
  })

  afterAll(() => rmSync(repo, { recursive: true, force: true }))

  const delivery = (event: string, payload: Json, id: string) => {
    const raw = JSON.stringify(payload)
    return webhook('/v1/webhooks/github', raw, {
      'x-hub-signature-256': sign(GITHUB_WEBHOOK_SECRET, raw),
      'x-github-event': event,
      'x-github-delivery': id,
    })
  }
  const issue = (body: string) => ({
    action: 'opened',
    issue: { id: Date.now(), number: 7, title: 'Fix the thing', body, author_association: 'OWNER', user: { login: 'ann', type: 'User' } },
    repository: { name: 'widgets', owner: { login: 'acme' }, clone_url: repo },
    sender: { login: 'ann', type: 'User' },
  })

  it('runs on an issue that asks for it, says so at once and then posts the result, once per issue', async () => {
    const id = `delivery-${Date.now()}`
    const payload = issue(`/opencode please ${scripted({ reply: 'Fixed, I think.' }, '')}`)
    const res = await delivery('issues', payload, id)
    expect(res.status).toBe(202)
    expect(res.body.ignored).toBe(false)
    const again = await delivery('issues', payload, id)
    expect(again.body.run.id).toBe(res.body.run.id)
    const run = await finished(res.body.run.id as string)
    expect(run.status).toBe('succeeded')
    // "Working on it" at once, then the result (this receiver gives no comment id to edit).
    const comments = await waitFor('the comments', async () => {
      const all = (await (await fetch(`${inject('githubUrl')}/_received`)).json()) as Received[]
      const mine = all.filter((r) => r.body.includes(run.id as string))
      return mine.length > 1 ? mine : undefined
    })
    expect(comments).toHaveLength(2)
    for (const comment of comments) {
      expect(comment.path).toBe('/repos/acme/widgets/issues/7/comments')
      expect(comment.headers.authorization).toBe('Bearer ghp_test_token')
    }
    expect(JSON.parse(comments[0]!.body).body).toContain('Working on it')
    expect(JSON.parse(comments[1]!.body).body).toContain('Fixed, I think.')
    expect(JSON.parse(comments[1]!.body).body).toContain('No changes')
  })

  it('acknowledges and ignores other deliveries, and refuses bad signatures', async () => {
    const quiet = await delivery('issues', issue('no trigger here'), `d-${Date.now()}`)
    expect(quiet.status).toBe(202)
    expect(quiet.body).toEqual({ ignored: true, reason: 'no trigger phrase' })
    const push = await delivery('push', { ref: 'refs/heads/main' }, `d2-${Date.now()}`)
    expect(push.body).toEqual({ ignored: true, reason: 'event push starts nothing' })
    const raw = JSON.stringify(issue('/opencode'))
    const forged = await webhook('/v1/webhooks/github', raw, { 'x-hub-signature-256': sign('wrong', raw), 'x-github-event': 'issues' })
    expect(forged.status).toBe(401)
  })
})
