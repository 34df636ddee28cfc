import { createHash, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, inject, it } from 'vitest'
import { DEMO_PRICE } from '../../local/model-server'
import { createClient } from '../../src/client'
import { api, baseUrl, CANARY_PROVIDER_KEY, createSession, logEvents, modelBase, scripted, TEST_KEYS, waitFor, type Json } from './helpers'

// Keys no other test file uses: gamma's usage is only what this file does, delta's stays empty.
const GAMMA = TEST_KEYS[2]
const DELTA = TEST_KEYS[3]
const prefixOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 8)

const DAY_MS = 86_400_000
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10)
// Yesterday to tomorrow, so a test that runs across midnight still finds everything.
const window = () => `from=${dayOf(Date.now() - DAY_MS)}&to=${dayOf(Date.now() + DAY_MS)}`

const usageOf = async (key: string): Promise<Json> => {
  const res = await api(`/v1/usage?${window()}`, { key })
  expect(res.status).toBe(200)
  return res.body
}

const logLines = () => logEvents(inject('workerLogFile'))

/** What the scripted provider billed for the answers whose messages hold `mark` (every call of a turn, its title's too). */
const billedFor = async (mark: string) =>
  (await (await fetch(`${modelBase()}/_billed?mark=${encodeURIComponent(mark)}`)).json()) as { answers: number; prompt: number; completion: number }

// Never to be seen in a log line.
const marker = `prompt-text-${randomUUID()}`
// Made by the first test, looked for in the log by the later ones.
let sessionId: string
let runId: string
let runSessionId: string

describe('usage per tenant', () => {
  let before: Json

  it('counts a session with a turn and a run, for their tenant only', async () => {
    before = (await usageOf(GAMMA)).totals as Json

    sessionId = await createSession({ title: 'metered' }, GAMMA)
    const sent = await api(`/v1/sessions/${sessionId}/messages?wait=true&timeout=90`, {
      key: GAMMA,
      body: { text: scripted({ reply: 'counted' }, marker) },
    })
    expect(sent.status).toBe(200)
    const session = (await api(`/v1/sessions/${sessionId}`, { key: GAMMA })).body
    expect(session.usage.inputTokens).toBeGreaterThan(0)
    // Ending the session stops its sandbox, which closes its running time.
    expect((await api(`/v1/sessions/${sessionId}`, { method: 'DELETE', key: GAMMA })).status).toBe(200)

    const started = await api('/v1/runs', { key: GAMMA, body: { prompt: scripted({ reply: 'run done' }, marker) } })
    expect(started.status).toBe(202)
    runId = started.body.id as string
    runSessionId = started.body.sessionId as string
    const run = await waitFor(
      'the run to succeed',
      async () => {
        const res = await api(`/v1/runs/${runId}`, { key: GAMMA })
        return res.body.status === 'succeeded' ? res.body : undefined
      },
      120_000,
    )
    expect(run.result.usage.inputTokens).toBeGreaterThan(0)
    expect(run.result.spend.outputTokens).toBeGreaterThan(0)

    // Reports travel without holding anything up: wait until both sandboxes' time is in, and
    // every model call the provider billed for the session and the run.
    let billed = await billedFor(marker)
    const after = await waitFor('usage to be reported', async () => {
      billed = await billedFor(marker)
      const u = await usageOf(GAMMA)
      const t = u.totals as Json
      return t.sessions === before.sessions + 2 &&
        t.runs === before.runs + 1 &&
        t.turns === before.turns + 2 &&
        t.runningSeconds > before.runningSeconds &&
        t.outputTokens - before.outputTokens === billed.completion
        ? u
        : undefined
    })
    const totals = after.totals as Json
    expect(totals.inputTokens - before.inputTokens).toBe(billed.prompt)
    expect(totals.outputTokens).toBeGreaterThan(before.outputTokens)

    const today = (after.days as Json[]).find((d) => d.date === dayOf(Date.now()))!
    expect(today).toMatchObject({ sessions: expect.any(Number), runs: expect.any(Number) })
    expect(today.sessions).toBeGreaterThanOrEqual(1)
    expect(today.turns).toBeGreaterThanOrEqual(1)
    expect(today.runningSeconds).toBeGreaterThan(0)
    expect(after.days).toHaveLength(3)
    const summed = (after.days as Json[]).reduce((sum, d) => sum + (d.sessions as number), 0)
    expect(summed).toBe(totals.sessions)

    const other = await usageOf(DELTA)
    expect(other.totals).toEqual({
      sessions: 0,
      runs: 0,
      turns: 0,
      runningSeconds: 0,
      pausedSeconds: 0,
      inputTokens: 0,
      outputTokens: 0,
      cost: 0,
    })
  })

  it("counts every call the provider billed, a title's and a tool step's too, at the priced model's exact cost", async () => {
    const before = (await usageOf(GAMMA)).totals as Json
    // The scripted model states these counts for each step of the turn; the title's it estimates.
    // The deployment prices its model at DEMO_PRICE per million.
    const tokens = { prompt: 300_000, completion: 100_000 }
    const mark = `billed-${randomUUID()}`
    // No title given: opencode asks the model for one, a call outside the turn.
    const id = await createSession({ permissions: { bash: 'allow' } }, GAMMA)
    const steps = [{ tool: { name: 'bash', args: { command: 'echo tooled', description: 'a tool step' } } }, { text: 'priced' }]
    const sent = await api(`/v1/sessions/${id}/messages?wait=true&timeout=90`, {
      key: GAMMA,
      body: { text: scripted({ steps, usage: tokens }, mark) },
    })
    expect(sent.status).toBe(200)
    const session = (await api(`/v1/sessions/${id}`, { key: GAMMA })).body
    expect(session.title).not.toBe('')
    expect((await api(`/v1/sessions/${id}`, { method: 'DELETE', key: GAMMA })).status).toBe(200)
    // two steps and a title
    let billed = await billedFor(mark)
    const after = await waitFor('every call to be reported', async () => {
      billed = await billedFor(mark)
      const t = (await usageOf(GAMMA)).totals as Json
      return billed.answers >= 3 && t.turns === before.turns + 1 && t.outputTokens - before.outputTokens === billed.completion ? t : undefined
    })
    const cost = (billed.prompt * DEMO_PRICE.input + billed.completion * DEMO_PRICE.output) / 1_000_000
    expect(after.inputTokens - before.inputTokens).toBe(billed.prompt)
    // Kept to 9 decimals (a nano-dollar): the difference of two such figures is exact to that.
    expect(Math.round((after.cost - before.cost) * 1e9) / 1e9).toBe(Math.round(cost * 1e9) / 1e9)
  })

  it('defaults to the last 30 days, through the typed client too', async () => {
    const res = await createClient(baseUrl(), { apiKey: DELTA }).v1.usage.$get({ query: {} })
    expect(res.status).toBe(200)
    const body = await res.json()
    if (!('totals' in body)) throw new Error(`not a usage report: ${JSON.stringify(body)}`)
    expect(body.to).toBe(dayOf(Date.now()))
    expect(body.days).toHaveLength(30)
    expect(body.totals.sessions).toBe(0)
  })

  it('is in the OpenAPI document', async () => {
    const doc = (await api('/openapi.json', { key: null })).body
    expect(Object.keys(doc.paths['/v1/usage'].get.responses)).toEqual(['200', '400', '401'])
    expect(doc.paths['/v1/usage'].get.parameters.map((p: Json) => p.name)).toEqual(['from', 'to'])
  })

  it.each([
    ['not a date', 'from=yesterday', 'query.from'],
    ['no such day', 'from=2026-02-30', 'query.from'],
    ['an end before the start', 'from=2026-03-02&to=2026-03-01', 'query.to'],
    ['more than 366 days', 'from=2024-01-01&to=2025-01-01', 'query.from'],
  ])('refuses %s', async (_, query, path) => {
    const res = await api(`/v1/usage?${query}`, { key: DELTA })
    expect(res.status).toBe(400)
    expect(res.body.error.code).toBe('validation_failed')
    expect(res.body.error.details[0].path).toBe(path)
  })

  it('needs the API key: no key and a session token are refused', async () => {
    expect((await api('/v1/usage', { key: null })).status).toBe(401)
    const id = await createSession({}, TEST_KEYS[0])
    const token = (await api(`/v1/sessions/${id}/tokens`, { body: {} })).body.token as string
    expect((await api(`/v1/sessions/${id}?token=${token}`, { key: null })).status).toBe(200)
    const res = await api(`/v1/usage?token=${token}`, { key: null })
    expect(res.status).toBe(401)
    expect(res.body.error.code).toBe('unauthorized')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('operator logs', () => {
  it('has a line per state change of a session and its sandbox', () => {
    const lines = logLines()
    const statuses = lines.filter((l) => l.event === 'session.status' && l.sessionId === sessionId)
    expect(statuses.map((l) => l.status)).toEqual(['starting', 'idle', 'busy', 'idle', 'ended'])
    for (const l of statuses) expect(l).toMatchObject({ level: 'info', msg: 'session.status', tenant: prefixOf(GAMMA) })
    const states = lines.filter((l) => l.event === 'sandbox.state' && l.sessionId === sessionId)
    expect(states.map((l) => l.state)).toEqual(expect.arrayContaining(['starting', 'ready', 'stopped']))
    for (const l of states) expect(l.tenant).toBe(prefixOf(GAMMA))
  })

  it('has a line per status change of a run, with its run and session ids', () => {
    const lines = logLines().filter((l) => l.event === 'run.status' && l.runId === runId)
    expect(lines.map((l) => l.status)).toEqual(['running', 'succeeded'])
    for (const l of lines) expect(l).toMatchObject({ tenant: prefixOf(GAMMA), sessionId: runSessionId })
    const runSession = logLines().filter((l) => l.event === 'session.status' && l.sessionId === runSessionId)
    expect(runSession.map((l) => l.status)).toContain('ended')
  })

  it('logs a request error with its request id, Cloudflare’s ray id when there is one', async () => {
    const res = await fetch(`${baseUrl()}/v1/no-such-route`, { headers: { authorization: `Bearer ${GAMMA}` } })
    expect(res.status).toBe(404)
    const requestId = res.headers.get('x-request-id')
    expect(requestId).toBeTruthy()

    const ray = `test${randomUUID().slice(0, 8)}-LHR`
    const missing = await fetch(`${baseUrl()}/v1/sessions/ses_00000000000000000000`, { headers: { authorization: `Bearer ${GAMMA}`, 'cf-ray': ray } })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('x-request-id')).toBe(ray)

    const lines = await waitFor('both errors to be logged', async () => {
      const errors = logLines().filter((l) => l.event === 'request.error')
      const found = [errors.find((l) => l.requestId === requestId), errors.find((l) => l.requestId === ray)]
      return found.every(Boolean) ? found : undefined
    })
    expect(lines[0]).toMatchObject({ status: 404, code: 'not_found', path: '/v1/no-such-route' })
    expect(lines[1]).toMatchObject({ status: 404, code: 'not_found', tenant: prefixOf(GAMMA), sessionId: 'ses_00000000000000000000' })
  })

  it('never logs a key, a secret or what a prompt said', () => {
    // wrangler dev's own access log records each URL as the client sent it, as a platform's request
    // log would: a client that puts its key in a URL (e2e/terminal.test.ts does, to show a preview
    // refuses it) has it written by wrangler. What is checked here is what the Worker logs.
    const log = readFileSync(inject('workerLogFile'), 'utf8')
      .split('\n')
      .filter((line) => !/^\[wrangler:info\] [A-Z]+ \//.test(line))
      .join('\n')
    expect(log).toContain('"event":"session.status"')
    for (const secret of [...TEST_KEYS, CANARY_PROVIDER_KEY, 'prompt-text-']) expect(log).not.toContain(secret)
  })
})
