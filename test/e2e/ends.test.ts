import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { api, createSession, logEvents, sandboxesOf, scripted, waitFor, waitForStatus, type Json } from './helpers'

// Its own stack: sandboxes pause after 3 idle seconds, a paused session ends after 15 more, and an
// ended one is deleted 20 seconds later; the shared stack keeps all of them long.
const own = ownStackForFile('ends', { SESSION_IDLE_SECONDS: '3', PAUSED_RETENTION_SECONDS: '15', ENDED_RETENTION_SECONDS: '20' })

const sandboxStates = (sessionId: string) =>
  logEvents(own().logFile)
    .filter((l) => l.event === 'sandbox.state' && l.sessionId === sessionId)
    .map((l) => `${l.state as string}${l.reason ? `:${l.reason as string}` : ''}`)

const del = (id: string) => api(`/v1/sessions/${id}`, { method: 'DELETE' })

/** Whether every piece of sandbox work the session began (provisioning, a resume) has stopped, as its log lines say. */
function noWorkUnderWay(sessionId: string): boolean {
  const lines = logEvents(own().logFile).filter((l) => l.event === 'sandbox.work' && l.sessionId === sessionId)
  const started = lines.filter((l) => l.state === 'started').length
  return started > 0 && lines.length === 2 * started
}

/** After a delete the session stays ended, takes no message, and keeps no sandbox. */
async function expectEndedForGood(id: string) {
  // Once the work under way when the delete landed has stopped, nothing is left that could make a sandbox for it.
  await waitFor('the work under way to stop', () => noWorkUnderWay(id))
  await waitFor('the session to keep no sandbox', async () => ((await sandboxesOf(id)).length === 0 ? true : undefined))
  const view = await api(`/v1/sessions/${id}`)
  expect(view.body.status).toBe('ended')
  expect((await api(`/v1/sessions/${id}/messages`, { body: { text: 'still there?' } })).status).toBe(409)
  expect(noWorkUnderWay(id)).toBe(true)
  expect((await api(`/v1/sessions/${id}`)).body.status).toBe('ended')
  expect(await sandboxesOf(id)).toEqual([])
}

/** Moments of a sandbox being made, each seen from outside: the delete lands at or soon after it. */
const MOMENTS: [string, (id: string) => Promise<unknown>][] = [
  ['as soon as it is created', async () => true],
  ['once its sandbox is asked for', (id) => waitFor('the sandbox to be asked for', () => sandboxStates(id).includes('starting:creating'))],
  ['once the sandbox host has made it', (id) => waitFor('the sandbox to exist', async () => (await sandboxesOf(id)).length > 0)],
  ['once its agent runs', (id) => waitFor('the agent to run', async () => (await sandboxesOf(id))[0]?.opencodePid !== undefined)],
]

describe('a delete is final', () => {
  it.each(MOMENTS)('while the sandbox is being made (%s)', async (_, moment) => {
    const id = await createSession({})
    await moment(id)
    expect((await del(id)).status).toBe(200)
    await expectEndedForGood(id)
  })

  it('while a paused sandbox is being resumed', async () => {
    const id = await createSession({})
    await waitFor('the idle sandbox to pause', async () => sandboxStates(id).includes('paused:idle'), 120_000)
    const sent = await api(`/v1/sessions/${id}/messages`, { body: { text: 'wake up' } })
    expect(sent.status).toBe(202)
    await waitFor('the resume to begin', async () => sandboxStates(id).includes('starting:resuming'))
    expect((await del(id)).status).toBe(200)
    await expectEndedForGood(id)
  })
})

describe('a paused session read from', () => {
  it('is resumed by the read, as a keepalive would, and pauses again once idle', async () => {
    const id = await createSession({ files: [{ path: 'notes.txt', content: 'kept while paused\n' }] })
    await waitFor('the idle sandbox to pause', async () => sandboxStates(id).includes('paused:idle'), 120_000)
    const file = await api(`/v1/sessions/${id}/files?path=notes.txt`)
    expect(file.status).toBe(200)
    expect(file.body).toMatchObject({ type: 'text', content: 'kept while paused\n' })
    expect(sandboxStates(id)).toContain('ready:resumed')
    const diff = await api(`/v1/sessions/${id}/diff`)
    expect(diff.status).toBe(200)
    await waitFor('the sandbox to pause again', async () => sandboxStates(id).filter((s) => s === 'paused:idle').length >= 2)
    await del(id)
  })
})

describe('retention', () => {
  it('ends a session paused too long and kills its sandbox, then forgets it', async () => {
    const id = await createSession({})
    await waitFor('the idle sandbox to pause', async () => sandboxStates(id).includes('paused:idle'), 120_000)
    const ended = await waitFor('the paused session to expire', async () => {
      const res = await api(`/v1/sessions/${id}`)
      return res.body.status === 'ended' ? res.body : undefined
    }, 60_000)
    expect(ended.status).toBe('ended')
    const ends = logEvents(own().logFile).filter((l) => l.event === 'session.status' && l.sessionId === id && l.status === 'ended')
    expect(ends.map((l) => l.reason)).toEqual(['expired'])
    expect(await sandboxesOf(id)).toEqual([])
    const events = await api(`/v1/sessions/${id}/messages`)
    expect(events.status).toBe(200)
    await waitFor('the ended session to be forgotten', async () => ((await api(`/v1/sessions/${id}`)).status === 404 ? true : undefined), 60_000)
    const listed = (await api('/v1/sessions?limit=100')).body.items as Json[]
    expect(listed.map((s) => s.id)).not.toContain(id)
  })
})

describe('a repeated wait', () => {
  it('answers at once with the reply the first send got', async () => {
    const id = await createSession({})
    await waitForStatus(id, 'idle')
    const body = { text: scripted({ reply: 'only once' }), idempotencyKey: 'repeat-me' }
    const first = await api(`/v1/sessions/${id}/messages?wait=true&timeout=60`, { body })
    expect(first.status).toBe(200)
    const again = await api(`/v1/sessions/${id}/messages?wait=true&timeout=5`, { body })
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ messageId: first.body.messageId, duplicate: true, reply: first.body.reply })
    await del(id)
  })
})
