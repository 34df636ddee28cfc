import { rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, finished, fixtureRepo, GITHUB_MAX_RUNS_PER_HOUR, GITHUB_WEBHOOK_SECRET, scripted, sign, waitFor, webhook, WEBHOOK_SECRET, type Json } from './helpers'
import { startReceiver } from './receivers'

/** Signed webhooks, GitHub deliveries and callbacks, attacked from outside. */

const now = () => Math.floor(Date.now() / 1000)

describe('POST /v1/webhooks/runs', () => {
  it('refuses a captured request sent again, verbatim or under a fresh timestamp', async () => {
    const raw = JSON.stringify({ prompt: scripted({ reply: 'once only' }) })
    const timestamp = String(now())
    const captured = { 'x-timestamp': timestamp, 'x-signature-256': sign(WEBHOOK_SECRET, `${timestamp}.${raw}`) }
    const first = await webhook('/v1/webhooks/runs', raw, captured)
    expect(first.status).toBe(202)

    const verbatim = await webhook('/v1/webhooks/runs', raw, captured)
    expect(verbatim.status).toBe(401)
    expect(verbatim.body.error.code).toBe('unauthorized')
    const refreshed = await webhook('/v1/webhooks/runs', raw, { ...captured, 'x-timestamp': String(now() + 1) })
    expect(refreshed.status).toBe(401)
    // The body alone, signed as before this change, is no longer a signature.
    const bodyOnly = await webhook('/v1/webhooks/runs', raw, { 'x-timestamp': String(now()), 'x-signature-256': sign(WEBHOOK_SECRET, raw) })
    expect(bodyOnly.status).toBe(401)
    await finished(first.body.id as string)
  })

  it('checks the callback URL of a signed run too', async () => {
    const raw = JSON.stringify({ prompt: 'x', callback: { url: 'file:///etc/passwd' } })
    const timestamp = String(now())
    const res = await webhook('/v1/webhooks/runs', raw, { 'x-timestamp': timestamp, 'x-signature-256': sign(WEBHOOK_SECRET, `${timestamp}.${raw}`) })
    expect(res.status).toBe(400)
  })
})

describe('callback delivery', () => {
  const closers: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const close of closers) await close()
  })

  it('follows no redirect, and records attempts coarsely', async () => {
    const target = await startReceiver(() => 200)
    closers.push(() => target.close())
    const redirector = createServer((req, res) => {
      req.resume()
      res.writeHead(307, { location: `${target.url}/landed` }).end()
    })
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve))
    closers.push(() => new Promise((resolve) => { redirector.closeAllConnections(); redirector.close(() => resolve()) }))
    // A port nobody listens on: taken, then given back.
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const closedPort = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))

    const redirected = await api('/v1/runs', {
      body: { prompt: scripted({ reply: 'r' }), callback: { url: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hook` } },
    })
    const unreachable = await api('/v1/runs', { body: { prompt: scripted({ reply: 'u' }), callback: { url: `http://127.0.0.1:${closedPort}/hook` } } })
    expect(redirected.status).toBe(202)
    expect(unreachable.status).toBe(202)

    // Retries go on for over an hour; the second attempt shows the first was not taken as delivered.
    const retried = (id: string) =>
      waitFor(
        `the callback of ${id} to be tried twice`,
        async () => {
          const r = await api(`/v1/runs/${id}`)
          return r.body.callback?.attempts.length >= 2 ? r.body : undefined
        },
        120_000,
      )
    const [a, b] = await Promise.all([retried(redirected.body.id as string), retried(unreachable.body.id as string)])
    expect(a.callback.state).toBe('pending')
    for (const attempt of a.callback.attempts) expect(attempt).toEqual({ at: expect.any(String), status: 307 })
    expect(target.received).toEqual([])
    expect(b.callback.state).toBe('pending')
    for (const attempt of b.callback.attempts) expect(attempt).toEqual({ at: expect.any(String), error: 'unreachable' })
  })
})

describe('POST /v1/webhooks/github', () => {
  let repo: string
  beforeAll(() => {
    repo = fixtureRepo('gh-trust', { 'a.txt': 'a\n' })
  })
  afterAll(() => rmSync(repo, { recursive: true, force: true }))

  let seq = 0
  const deliver = (event: string, payload: Json, deliveryId = `d-${Date.now()}-${seq++}`) => {
    const raw = JSON.stringify(payload)
    return webhook('/v1/webhooks/github', raw, {
      'x-hub-signature-256': sign(GITHUB_WEBHOOK_SECRET, raw),
      'x-github-event': event,
      'x-github-delivery': deliveryId,
    })
  }
  const user = (login: string, type = 'User') => ({ login, type })
  const comment = (repoName: string, o: { id: number; body?: string; association?: string; author?: Json; sender?: Json }) => ({
    action: 'created',
    issue: { id: 1, number: 3, title: 'Broken', body: 'it is broken', author_association: 'NONE', user: user('stranger') },
    comment: {
      id: o.id,
      body: o.body ?? `/opencode fix it ${scripted({ reply: 'done' }, '')}`,
      author_association: o.association ?? 'OWNER',
      user: o.author ?? user('owner'),
    },
    repository: { name: repoName, owner: { login: 'acme' }, clone_url: repo },
    sender: o.sender ?? o.author ?? user('owner'),
  })

  it('starts nothing for untrusted authors, bots, or its own comments, and says why', async () => {
    const name = `trust-${Date.now()}`
    const cases: [Json, RegExp][] = [
      [comment(name, { id: 11, association: 'NONE', author: user('stranger') }), /NONE/],
      [comment(name, { id: 12, association: 'CONTRIBUTOR', author: user('drive-by') }), /CONTRIBUTOR/],
      [comment(name, { id: 13, association: 'FIRST_TIMER', author: user('new') }), /FIRST_TIMER/],
      [comment(name, { id: 14, sender: user('ci[bot]', 'Bot') }), /bot/],
      [comment(name, { id: 15, author: user('helper[bot]', 'Bot') }), /bot/],
      [comment(name, { id: 16, body: 'opencode run `run_x`: **succeeded**\n\nNext time say /opencode' }), /own comment/],
    ]
    for (const [payload, reason] of cases) {
      const res = await deliver('issue_comment', payload)
      expect(res.status).toBe(202)
      expect(res.body.ignored).toBe(true)
      expect(res.body.reason).toMatch(reason)
      expect(res.body.run).toBeUndefined()
    }
    const issue = {
      action: 'opened',
      issue: { id: 77, number: 4, title: '/opencode do it', body: 'please', author_association: 'NONE', user: user('stranger') },
      repository: { name, owner: { login: 'acme' }, clone_url: repo },
      sender: user('stranger'),
    }
    const opened = await deliver('issues', issue)
    expect(opened.body).toMatchObject({ ignored: true, reason: expect.stringMatching(/NONE/) })
    // Signed, yet not a delivery of the event it claims: acknowledged, not a 500.
    for (const odd of [null, [], { issue: 'x', repository: 1 }]) {
      const res = await deliver('issues', odd as Json)
      expect(res.status).toBe(202)
      expect(res.body).toEqual({ ignored: true, reason: 'not an issues delivery' })
    }
  })

  it('starts one run per comment whatever the delivery id, and at most the hourly allowance per repository', async () => {
    const name = `rate-${Date.now()}`
    const first = await deliver('issue_comment', comment(name, { id: 21 }), 'delivery-a')
    expect(first.status).toBe(202)
    expect(first.body.ignored).toBe(false)
    const redelivered = await deliver('issue_comment', comment(name, { id: 21 }), 'delivery-b')
    expect(redelivered.status).toBe(202)
    expect(redelivered.body.run.id).toBe(first.body.run.id)

    const started = [first.body.run.id as string]
    for (let id = 22; started.length < GITHUB_MAX_RUNS_PER_HOUR; id++) {
      const res = await deliver('issue_comment', comment(name, { id }))
      expect(res.status).toBe(202)
      started.push(res.body.run.id as string)
    }
    const over = await deliver('issue_comment', comment(name, { id: 99 }))
    expect(over.status).toBe(429)
    expect(over.body.error.code).toBe('too_many_requests')
    // Another repository has its own allowance.
    const elsewhere = await deliver('issue_comment', comment(`${name}-other`, { id: 99 }))
    expect(elsewhere.status).toBe(202)
    started.push(elsewhere.body.run.id as string)
    for (const id of started) await finished(id)
  })
})
