import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { api, createSession, finished, logEvents, sandboxesOf, scripted, TEST_KEYS, waitFor, waitForStatus, type Json } from './helpers'
import { startReceiver } from './receivers'

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

describe('run retention', () => {
  it('deletes an ended run, once its callback is delivered, ENDED_RETENTION_SECONDS after', async () => {
    const receiver = await startReceiver(() => 200)
    try {
      const started = await api('/v1/runs', { body: { prompt: scripted({ reply: 'kept a while' }), callback: { url: `${receiver.url}/hook` } } })
      expect(started.status).toBe(202)
      const id = started.body.id as string
      const run = await finished(id)
      expect(run.status).toBe('succeeded')
      await waitFor('the callback to be delivered', async () => ((await api(`/v1/runs/${id}`)).body.callback?.state === 'delivered' ? true : undefined))
      await waitFor('the ended run to be forgotten', async () => ((await api(`/v1/runs/${id}`)).status === 404 ? true : undefined), 60_000)
      expect(receiver.received).toHaveLength(1)
    } finally {
      await receiver.close()
    }
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

// Last in this file: the Worker keeps the changed keys for as long as this stack lives.
describe('an API_KEYS change', () => {
  it('takes effect with the restart: a removed key and the session tokens it minted get 401, an added key works, a kept key still sees its sessions', async () => {
    const [kept, removed] = [TEST_KEYS[0], TEST_KEYS[1]]
    const added = 'test-key-added-by-a-deploy'
    const mine = await createSession({ title: 'kept' }, kept)
    const theirs = await createSession({ title: 'of a removed key' }, removed)
    const mint = async (id: string, key: string) => {
      const res = await api(`/v1/sessions/${id}/tokens`, { body: {}, key })
      expect(res.status).toBe(201)
      return encodeURIComponent(res.body.token as string)
    }
    const [keptToken, removedToken] = [await mint(mine, kept), await mint(theirs, removed)]
    const byToken = (id: string, token: string, path = '') => api(`/v1/sessions/${id}${path}?token=${token}`, { key: null })
    // Before the change: the key to be removed and its token work, the one to be added does not.
    expect((await byToken(theirs, removedToken)).status).toBe(200)
    expect((await api('/v1/sessions', { key: added })).status).toBe(401)

    await own().stack.restartWorker({ changes: { API_KEYS: [kept, added, ...TEST_KEYS.slice(2)].join(',') } })

    for (const refused of [
      await api('/v1/sessions', { key: removed }),
      await api(`/v1/sessions/${theirs}`, { key: removed }),
      await byToken(theirs, removedToken),
      await byToken(theirs, removedToken, '/messages'),
    ]) {
      expect(refused.status).toBe(401)
      expect(refused.body.error.code).toBe('unauthorized')
    }
    const events = await fetch(`${own().stack.url}/v1/sessions/${theirs}/events?token=${removedToken}`)
    expect(events.status).toBe(401)
    await events.body?.cancel()

    expect((await api('/v1/sessions', { key: added })).body.items).toEqual([])
    const fresh = await createSession({ title: 'of an added key' }, added)
    expect((await api(`/v1/sessions/${fresh}`, { key: added })).status).toBe(200)
    expect((await api(`/v1/sessions/${mine}`, { key: added })).status).toBe(404)

    const listed = (await api('/v1/sessions', { key: kept })).body.items as Json[]
    expect(listed.map((s) => s.id)).toEqual(expect.arrayContaining([mine]))
    expect(listed.map((s) => s.id)).not.toContain(theirs)
    expect((await api(`/v1/sessions/${mine}`, { key: kept })).body.title).toBe('kept')
    expect((await byToken(mine, keptToken)).status).toBe(200)
  })
})
