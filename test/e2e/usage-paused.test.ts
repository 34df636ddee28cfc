import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, logEvents, TEST_KEYS, waitFor, type Json } from './helpers'

// Its own stack: a sandbox pauses after this many idle seconds, which the shared stack keeps long.
const IDLE_SECONDS = 3
const KEY = TEST_KEYS[2]
let own: OwnStack

beforeAll(async () => {
  own = await startOwnStack('usage-paused', { SESSION_IDLE_SECONDS: String(IDLE_SECONDS) })
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
