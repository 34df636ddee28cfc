import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inDialect } from '../../local/model-server'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, logEvents, scripted, TEST_KEYS, waitFor, type Json } from './helpers'

// Its own stack: a sandbox pauses after this many idle seconds, which the shared stack keeps long.
const IDLE_SECONDS = 3
const KEY = TEST_KEYS[2]
let own: OwnStack

beforeAll(async () => {
  // Providers speaking Anthropic's and the Responses API too, for the ACP runtimes' sessions.
  own = await startOwnStack('usage-paused', { SESSION_IDLE_SECONDS: String(IDLE_SECONDS) }, { scriptedModel: true, opencodeConfig: (c) => inDialect('responses')(inDialect('anthropic')(c)) })
})

afterAll(async () => {
  await own?.close()
})

const states = (sessionId: string) =>
  logEvents(own.logFile)
    .filter((l) => l.event === 'sandbox.state' && l.sessionId === sessionId)
    .map((l) => l.state as string)

describe('usage of a sandbox that pauses', () => {
  it('counts its running and its paused seconds apart', async () => {
    const id = await createSession({}, KEY)
    await waitFor('the idle sandbox to pause', async () => states(id).includes('paused'))
    // A keepalive resumes it: the paused time ends and is reported.
    expect((await api(`/v1/sessions/${id}/keepalive`, { method: 'POST', key: KEY })).status).toBe(200)
    await waitFor('the sandbox to be resumed', async () => states(id).filter((s) => s === 'ready').length >= 2)
    expect((await api(`/v1/sessions/${id}`, { method: 'DELETE', key: KEY })).status).toBe(200)

    const totals = await waitFor('both kinds of seconds to be reported', async () => {
      const res = await api('/v1/usage', { key: KEY })
      const t = res.body.totals as Json
      return t.pausedSeconds > 0 && t.runningSeconds > 0 && states(id).includes('stopped') ? t : undefined
    })
    expect(totals.sessions).toBe(1)
    expect(totals.turns).toBe(0)
  })
})

describe('an ACP runtime’s sandbox that pauses', () => {
  it.each(['claude-code', 'codex'])('%s: pauses when idle, and resumes on a message with its conversation', async (runtime) => {
    const id = await createSession({ runtime })
    const first = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: `before the pause (${runtime})` }) } })
    expect(first.body.reply.text).toBe(`before the pause (${runtime})`)
    await waitFor('the idle sandbox to pause', async () => states(id).includes('paused'), 120_000)

    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: `after the resume (${runtime})` }) } })
    expect(res.status).toBe(200)
    expect(res.body.reply.text).toBe(`after the resume (${runtime})`)
    expect(states(id).filter((s) => s === 'ready').length).toBeGreaterThanOrEqual(2)
    const replies = (await api(`/v1/sessions/${id}/messages`)).body.filter((m: Json) => m.role === 'assistant').map((m: Json) => m.text)
    expect(replies).toEqual([`before the pause (${runtime})`, `after the resume (${runtime})`])
    // The same agent session went on: the model was sent the turn from before the pause.
    const requests = (await (await fetch(`${own.stack.model!.url.replace(/\/v1$/, '')}/_requests`)).json()) as Json[]
    const last = requests.findLast((r) => JSON.stringify(r).includes(`after the resume (${runtime})`))!
    expect(JSON.stringify(last)).toContain(`before the pause (${runtime})`)
    expect((await api(`/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(200)
  })
})
