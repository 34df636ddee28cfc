import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, baseUrl, createSession, EventStream, isReplyTo, modelBase, scripted, sendMessage, sharedSession, TEST_KEYS, waitForStatus, words, type Json } from './helpers'

/**
 * What a web frontend needs, through HTTP against the shared stack with real opencode: calling
 * the API from its own origin (CORS), the model and agent catalogues, files sent with a message
 * (an image reaching the model as an image), and steering a running turn.
 */

const APP = 'http://app.example.test'
const auth = { authorization: `Bearer ${TEST_KEYS[0]}` }
/** A 1×1 PNG. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='
const PDF = '%PDF-1.4 a tiny document'
const b64 = (text: string) => Buffer.from(text).toString('base64')

/** The tests that call a session's routes, with one plain turn at most, share one: a catalogue model and agent of its own. */
const shared = sharedSession({ title: 'shared', model: 'local/offline-demo-large', agent: 'plan' })

type ModelRequest = { messages?: { role: string; content?: unknown }[] }

/** The model calls made for a user message that carried `marker`. */
async function modelCallsWith(marker: string): Promise<ModelRequest[]> {
  const all = (await (await fetch(`${modelBase()}/_requests`)).json()) as ModelRequest[]
  return all.filter((r) => JSON.stringify(r.messages ?? []).includes(marker))
}

describe('CORS', () => {
  it('grants a CORS_ORIGINS origin the preflight and the answers, the event stream and errors included, and no other origin anything', async () => {
    const preflight = (origin: string) =>
      fetch(`${baseUrl()}/v1/sessions/ses_00000000000000000000/messages`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, last-event-id' },
      })
    const granted = await preflight(APP)
    expect(granted.status).toBe(204)
    expect(granted.headers.get('access-control-allow-origin')).toBe(APP)
    expect(granted.headers.get('access-control-allow-headers')?.toLowerCase().split(',')).toEqual(['authorization', 'content-type', 'last-event-id'])
    expect(granted.headers.get('access-control-allow-methods')).toContain('POST')
    expect((await preflight('http://evil.example.test')).headers.get('access-control-allow-origin')).toBeNull()

    const id = await shared()
    const controller = new AbortController()
    const stream = await fetch(`${baseUrl()}/v1/sessions/${id}/events`, { headers: { ...auth, origin: APP, 'last-event-id': '0' }, signal: controller.signal })
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toContain('text/event-stream')
    expect(stream.headers.get('access-control-allow-origin')).toBe(APP)
    controller.abort()

    const listed = await fetch(`${baseUrl()}/v1/sessions/${id}`, { headers: { ...auth, origin: APP } })
    expect(listed.headers.get('access-control-allow-origin')).toBe(APP)
    const refused = await fetch(`${baseUrl()}/v1/sessions/${id}`, { headers: { origin: APP } })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP)
    const other = await fetch(`${baseUrl()}/v1/sessions/${id}`, { headers: { ...auth, origin: 'http://evil.example.test' } })
    expect(other.status).toBe(200)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('the catalogues', () => {
  it("lists the deployment's models with what they take, and its agents, to key holders only", async () => {
    const models = await api('/v1/models')
    expect(models.status).toBe(200)
    expect(models.body).toEqual({
      default: 'local/offline-demo',
      models: [
        { id: 'local/offline-demo', name: expect.stringContaining('Offline demo model'), provider: 'local', attachments: true, reasoning: false },
        { id: 'local/offline-demo-large', name: expect.stringContaining('large'), provider: 'local', attachments: false, reasoning: false },
        { id: 'local/offline-demo-unpriced', name: expect.stringContaining('unpriced'), provider: 'local', attachments: false, reasoning: false },
      ],
      providers: [{ id: 'local', anyModel: false }],
    })
    const agents = await api('/v1/agents')
    expect(agents.status).toBe(200)
    expect(agents.body.default).toBe('build')
    expect(agents.body.agents.map((a: Json) => [a.name, a.mode])).toEqual([
      ['build', 'primary'],
      ['plan', 'primary'],
      ['general', 'subagent'],
      ['explore', 'subagent'],
    ])
    expect((await api('/v1/models', { key: null })).status).toBe(401)
    expect((await api('/v1/agents', { key: 'not-a-key' })).status).toBe(401)
  })

  it('refuses sessions, messages and runs naming a model outside the catalogue, pointing at it', async () => {
    const expectRefused = (res: { status: number; body: Json }) => {
      expect(res.status).toBe(400)
      expect(res.body.error).toMatchObject({
        code: 'validation_failed',
        details: [{ path: 'json.model', code: 'unknown_model', models: `${baseUrl()}/v1/models` }],
      })
    }
    expectRefused(await api('/v1/sessions', { body: { model: 'local/no-such-model' } }))
    expectRefused(await api('/v1/sessions', { body: { model: 'elsewhere/model' } }))
    expectRefused(await api('/v1/runs', { body: { prompt: 'hi', model: 'local/no-such-model' } }))
    expectRefused(await api(`/v1/sessions/${await shared()}/messages`, { body: { text: 'hi', model: 'openai/gpt-4o' } }))
  })
})

describe('agents and own model keys', () => {
  it('refuses sessions and messages naming an agent outside GET /v1/agents, pointing at it', async () => {
    const expectRefused = (res: { status: number; body: Json }) => {
      expect(res.status).toBe(400)
      expect(res.body.error).toMatchObject({
        code: 'validation_failed',
        details: [{ path: 'json.agent', code: 'unknown_agent', agents: `${baseUrl()}/v1/agents` }],
      })
    }
    expectRefused(await api('/v1/sessions', { body: { agent: 'no-such-agent' } }))
    const id = await shared()
    expectRefused(await api(`/v1/sessions/${id}/messages`, { body: { text: 'hi', agent: 'no-such-agent' } }))
    expect((await api(`/v1/sessions/${id}/messages`, { body: { text: 'hi', agent: 'build' } })).status).toBe(202)
  })

  it("lets a session's messages name models of the providers it brought its own key for, and no other session's", async () => {
    const own = await createSession({ title: 'own keys', modelKeys: { openai: 'sk-session-own-key-0123' } })
    const other = await shared()
    try {
      const mine = await api(`/v1/sessions/${own}/messages`, { body: { text: 'hi', model: 'openai/gpt-4o-mini' } })
      expect(mine.status, JSON.stringify(mine.body)).toBe(202)
      const theirs = await api(`/v1/sessions/${other}/messages`, { body: { text: 'hi', model: 'openai/gpt-4o-mini' } })
      expect(theirs.status).toBe(400)
      expect(theirs.body.error.details[0]).toMatchObject({ path: 'json.model', code: 'unknown_model' })
      // Another tenant cannot learn of the session through this check.
      expect((await api(`/v1/sessions/${own}/messages`, { body: { text: 'hi', model: 'openai/gpt-4o-mini' }, key: TEST_KEYS[1] })).status).toBe(404)
    } finally {
      await api(`/v1/sessions/${own}`, { method: 'DELETE' })
    }
  })
})

describe('attachments', () => {
  let id: string
  beforeAll(async () => {
    id = await createSession({ title: 'attachments' })
  })
  afterAll(async () => {
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('reach the model (an image as an image, a PDF as a file, a text file as text) and are listed, never with their bytes', async () => {
    const stream = new EventStream(id)
    const note = 'zebra-notes-7731: the button is red'
    const sent = await api(`/v1/sessions/${id}/messages`, {
      body: {
        text: scripted({ reply: 'I see them' }, 'attach-marker-5521'),
        attachments: [
          { filename: 'screenshot.png', mime: 'image/png', data: PNG },
          { filename: 'notes.md', mime: 'text/markdown', data: b64(note) },
          { filename: 'spec.pdf', mime: 'application/pdf', data: b64(PDF) },
        ],
      },
    })
    expect(sent.status).toBe(202)
    const messageId = sent.body.messageId as string
    // The machine is shared with other suites: a real opencode turn may take a while.
    const reply = await stream.until(isReplyTo(messageId), 150_000)
    await stream.close()
    expect(reply.data.text).toBe('I see them')

    const listed = [
      { filename: 'screenshot.png', mime: 'image/png', size: Buffer.from(PNG, 'base64').byteLength },
      { filename: 'notes.md', mime: 'text/markdown', size: note.length },
      { filename: 'spec.pdf', mime: 'application/pdf', size: PDF.length },
    ]
    const created = stream.events.find((e) => e.event === 'message.created' && e.data.messageId === messageId)
    expect(created?.data.attachments).toEqual(listed)
    const conversation = await api(`/v1/sessions/${id}/messages`)
    const user = conversation.body.find((m: Json) => m.id === messageId)
    expect(user.attachments).toEqual(listed)
    expect(JSON.stringify(conversation.body)).not.toContain(PNG.slice(0, 40))
    expect(JSON.stringify(stream.events)).not.toContain(PNG.slice(0, 40))

    const [call] = await modelCallsWith('attach-marker-5521')
    const userTurn = call!.messages!.filter((m) => m.role === 'user').at(-1)!
    const content = JSON.stringify(userTurn.content)
    expect(userTurn.content).toEqual(
      expect.arrayContaining([{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }]),
    )
    expect(content).toContain(note)
    expect(userTurn.content).toEqual(
      expect.arrayContaining([{ type: 'file', file: { filename: 'spec.pdf', file_data: `data:application/pdf;base64,${b64(PDF)}` } }]),
    )
  }, 240_000)

  it('refuses too many files, files that are not what they say, unknown types, and more than 10 MiB', async () => {
    const users = async () => (await api(`/v1/sessions/${id}/messages`)).body.filter((m: Json) => m.role === 'user').length
    const before = await users()
    const file = { filename: 'a.txt', mime: 'text/plain', data: b64('a') }
    const tooMany = await api(`/v1/sessions/${id}/messages`, { body: { text: 'x', attachments: Array.from({ length: 11 }, () => file) } })
    expect(tooMany.status).toBe(400)
    expect(tooMany.body.error.details[0].path).toBe('json.attachments')
    const lying = await api(`/v1/sessions/${id}/messages`, { body: { text: 'x', attachments: [{ filename: 'x.png', mime: 'image/png', data: b64('#!/bin/sh') }] } })
    expect(lying.status).toBe(400)
    expect(lying.body.error.details[0]).toMatchObject({ path: 'json.attachments.0.data', code: 'mime_mismatch' })
    const unknown = await api(`/v1/sessions/${id}/messages`, { body: { text: 'x', attachments: [{ filename: 'x.exe', mime: 'application/x-msdownload', data: b64('MZ') }] } })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.details[0].path).toBe('json.attachments.0.mime')

    // 11 MiB decoded, under the body limit as base64.
    const half = Buffer.alloc(5.5 * 1024 * 1024, 'a').toString('base64')
    const decodedTooLarge = await api(`/v1/sessions/${id}/messages`, {
      body: { text: 'x', attachments: [{ ...file, data: half }, { ...file, data: half }] },
    })
    expect(decodedTooLarge.status).toBe(413)
    expect(decodedTooLarge.body.error.code).toBe('payload_too_large')
    expect(decodedTooLarge.body.error.message).toContain('decoded')
    const bodyTooLarge = await api(`/v1/sessions/${id}/messages`, { body: { text: 'x'.repeat(16 * 1024 * 1024) } })
    expect(bodyTooLarge.status).toBe(413)
    // Other routes keep their 1 MiB limit.
    const elsewhere = await api(`/v1/sessions/${id}/abort`, { body: { clearQueue: false, pad: 'x'.repeat(1024 * 1024) } })
    expect(elsewhere.status).toBe(413)
    expect(await users()).toBe(before)
  })
})

describe('steering', () => {
  it('stops the running turn and runs the steered message before those queued ahead of it', async () => {
    const id = await createSession({ title: 'steering' })
    try {
      await waitForStatus(id, 'idle')
      const stream = new EventStream(id)
      const slow = await sendMessage(id, scripted({ reply: words(400, 'slow'), delayMs: 50 }))
      await stream.until((e) => e.event === 'message.delta' && /(^| )slow3 /.test(String(e.data.text)))
      const queued = await sendMessage(id, scripted({ reply: 'queued reply' }))
      const steer = await api(`/v1/sessions/${id}/messages`, { body: { text: scripted({ reply: 'steered reply' }), mode: 'steer' } })
      expect(steer.status).toBe(202)
      expect(steer.body.queued).toBe(true)
      const steerId = steer.body.messageId as string
      const queuedReply = await stream.until(isReplyTo(queued), 150_000)
      await stream.close()

      const replies = stream.events.filter((e) => e.event === 'message.completed' && e.data.role === 'assistant')
      const order = replies.map((e) => e.data.parentId as string)
      // Each of the three has its reply, the one steered over included: a missing one is not "before" anything.
      const place = (messageId: string) => {
        expect(order, `a reply to ${messageId}`).toContain(messageId)
        return order.indexOf(messageId)
      }
      expect(place(steerId)).toBeGreaterThan(place(slow))
      expect(place(steerId)).toBeLessThan(place(queued))
      expect(replies.find((e) => e.data.parentId === steerId)?.data.text).toBe('steered reply')
      expect(queuedReply.data.text).toBe('queued reply')
      expect(replies.find((e) => e.data.parentId === slow)?.data.text).not.toBe(words(400, 'slow'))
      expect(stream.events).toContainEqual(expect.objectContaining({ event: 'session.status', data: expect.objectContaining({ status: 'idle', reason: 'steered' }) }))
      // It is announced, and listed, where it ran: before the message that was waiting.
      const created = stream.events.find((e) => e.event === 'message.created' && e.data.messageId === steerId)
      expect(created?.data.before).toBe(queued)
      const users = (await api(`/v1/sessions/${id}/messages`)).body.filter((m: Json) => m.role === 'user').map((m: Json) => m.id)
      expect(users).toEqual([slow, steerId, queued])
      const listed = (await api(`/v1/sessions/${id}/messages`)).body as Json[]
      const replyOf = (user: string) => listed.findIndex((m) => m.role === 'assistant' && m.text === (user === steerId ? 'steered reply' : 'queued reply'))
      expect(replyOf(steerId)).toBeLessThan(listed.findIndex((m) => m.id === queued))
      expect(replyOf(queued)).toBeGreaterThan(listed.findIndex((m) => m.id === queued))
    } finally {
      await api(`/v1/sessions/${id}`, { method: 'DELETE' })
    }
  }, 240_000)
})
