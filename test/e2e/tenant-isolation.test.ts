import { describe, expect, it } from 'vitest'
import { api, baseUrl, COLOUR_QUESTION, createSession, isIdleEvent, scripted, streamFromNow, TEST_KEYS, waitFor, waitForStatus, type Json } from './helpers'

const OWNER = TEST_KEYS[0]
const STRANGER = TEST_KEYS[1]

/** What a session looks like to its owner, without the fields that move on their own. */
async function ownersView(id: string): Promise<Json> {
  const { body } = await api(`/v1/sessions/${id}`, { key: OWNER })
  const { updatedAt: _updatedAt, usage: _usage, ...rest } = body
  return rest
}

async function eventsStatus(id: string, key: string): Promise<number> {
  const res = await fetch(`${baseUrl()}/v1/sessions/${id}/events`, { headers: { authorization: `Bearer ${key}` } })
  await res.body?.cancel()
  return res.status
}

/** Every route that takes a session id, as another tenant would call it. */
function strangerCalls(id: string): [string, () => Promise<number>][] {
  const as = (path: string, init: { method?: string; body?: unknown } = {}) => async () =>
    (await api(path, { ...init, key: STRANGER })).status
  return [
    ['GET session', as(`/v1/sessions/${id}`)],
    ['PATCH session', as(`/v1/sessions/${id}`, { method: 'PATCH', body: { title: 'taken over' } })],
    ['GET messages', as(`/v1/sessions/${id}/messages`)],
    ['POST messages', as(`/v1/sessions/${id}/messages`, { body: { text: scripted({ reply: 'not yours' }) } })],
    ['GET events', () => eventsStatus(id, STRANGER)],
    ['POST abort', as(`/v1/sessions/${id}/abort`, { body: { clearQueue: true } })],
    ['POST keepalive', as(`/v1/sessions/${id}/keepalive`, { method: 'POST' })],
    ['POST tokens', as(`/v1/sessions/${id}/tokens`, { body: {} })],
    ['GET diff', as(`/v1/sessions/${id}/diff`)],
    ['GET files', as(`/v1/sessions/${id}/files?path=notes.txt`)],
    ['POST unrevert', as(`/v1/sessions/${id}/unrevert`, { method: 'POST' })],
    ['GET opencode session list', as(`/v1/sessions/${id}/opencode/session`)],
    ['POST opencode prompt', as(`/v1/sessions/${id}/opencode/session/x/message`, { body: { parts: [{ type: 'text', text: 'not yours' }] } })],
    ['DELETE session', as(`/v1/sessions/${id}`, { method: 'DELETE' })],
  ]
}

describe('another tenant', () => {
  it('gets 404 from every route of a session it does not own, and the session is unchanged', async () => {
    const id = await createSession({ title: 'owned', files: [{ path: 'notes.txt', content: 'private\n' }], permissions: { bash: 'ask' } }, OWNER)
    await waitForStatus(id, 'idle', OWNER)
    const stream = await streamFromNow(id)
    const sent = await api(`/v1/sessions/${id}/messages`, {
      key: OWNER,
      body: {
        text: scripted({
          steps: [COLOUR_QUESTION, { tool: { name: 'bash', args: { command: 'echo asked > asked.txt', description: 'x' } } }, { text: 'done' }],
        }),
      },
    })
    expect(sent.status).toBe(202)

    const asked = await stream.until((e) => e.event === 'question.asked')
    // The model call that asked is billed once its answer is settled, which may come after the question.
    await waitFor('the call that asked to be billed', async () => ((await ownersView(id)).spend.inputTokens > 0 ? true : undefined))
    const before = await ownersView(id)
    const messagesBefore = (await api(`/v1/sessions/${id}/messages`, { key: OWNER })).body
    const calls: [string, () => Promise<number>][] = [
      ...strangerCalls(id),
      ['POST questions', async () => (await api(`/v1/sessions/${id}/questions/${asked.data.questionId}`, { key: STRANGER, body: { answers: [['Red']] } })).status],
      ['POST revert', async () => (await api(`/v1/sessions/${id}/revert`, { key: STRANGER, body: { messageId: sent.body.messageId } })).status],
    ]
    for (const [name, call] of calls) expect({ name, status: await call() }).toEqual({ name, status: 404 })
    // Still waiting on its question, not renamed, aborted, ended, kept alive or sent anything.
    expect(await ownersView(id)).toEqual(before)
    expect(before).toMatchObject({ status: 'busy', title: 'owned', queued: 0 })
    expect(before.pending.questions.map((q: Json) => q.questionId)).toEqual([asked.data.questionId])
    expect((await api(`/v1/sessions/${id}/messages`, { key: OWNER })).body).toEqual(messagesBefore)

    expect((await api(`/v1/sessions/${id}/questions/${asked.data.questionId}`, { key: OWNER, body: { answers: [['Blue']] } })).status).toBe(200)
    const ask = await stream.until((e) => e.event === 'permission.requested')
    const pid = ask.data.permissionId as string
    const stolen = await api(`/v1/sessions/${id}/permissions/${pid}`, { key: STRANGER, body: { reply: 'once' } })
    expect(stolen.status).toBe(404)
    expect(stolen.body.error.code).toBe('not_found')
    expect((await api(`/v1/sessions/${id}`, { key: OWNER })).body.pending.permissions.map((p: Json) => p.permissionId)).toEqual([pid])
    expect((await api(`/v1/sessions/${id}/permissions/${pid}`, { key: OWNER, body: { reply: 'reject' } })).status).toBe(200)
    await stream.until((e) => isIdleEvent(e) && e.id! > ask.id!)
    await stream.close()
    // The question went the owner's way, and the stranger's permission reply never ran the command.
    expect(stream.events.find((e) => e.event === 'question.resolved')?.data.answers).toEqual([['Blue']])
    expect(stream.events.find((e) => e.event === 'permission.resolved')?.data.reply).toBe('reject')

    // The same routes answer the owner, so the 404s above were about the tenant.
    expect(await eventsStatus(id, OWNER)).toBe(200)
    expect((await api(`/v1/sessions/${id}/files?path=notes.txt`, { key: OWNER })).body.content).toBe('private\n')
    expect((await api(`/v1/sessions/${id}/diff`, { key: OWNER })).status).toBe(200)
    expect((await api(`/v1/sessions/${id}/keepalive`, { key: OWNER, method: 'POST' })).status).toBe(200)
    expect((await api(`/v1/sessions/${id}/tokens`, { key: OWNER, body: {} })).status).toBe(201)
    expect((await api(`/v1/sessions/${id}/abort`, { key: OWNER, body: {} })).status).toBe(200)
    expect((await api(`/v1/sessions/${id}`, { key: OWNER, method: 'PATCH', body: { title: 'renamed' } })).body.title).toBe('renamed')
    expect((await api(`/v1/sessions/${id}`, { key: OWNER, method: 'DELETE' })).body.status).toBe('ended')
  })

  it('gets 404 for a run it does not own, and cannot cancel it', async () => {
    const started = await api('/v1/runs', { key: OWNER, body: { prompt: scripted({ reply: 'finished alone', delayMs: 50 }) } })
    expect(started.status).toBe(202)
    const runId = started.body.id as string
    const peek = await api(`/v1/runs/${runId}`, { key: STRANGER })
    expect(peek.status).toBe(404)
    expect(peek.body.error.code).toBe('not_found')
    const cancel = await api(`/v1/runs/${runId}`, { key: STRANGER, method: 'DELETE' })
    expect(cancel.status).toBe(404)
    // Nor through the session behind it.
    for (const [name, call] of strangerCalls(started.body.sessionId as string)) expect({ name, status: await call() }).toEqual({ name, status: 404 })
    const run = await waitFor(
      'the run to finish',
      async () => {
        const res = await api(`/v1/runs/${runId}`, { key: OWNER })
        return res.body.status !== 'running' && res.body
      },
      120_000,
    )
    expect(run.status).toBe('succeeded')
    expect(run.result.text).toBe('finished alone')
  })
})
