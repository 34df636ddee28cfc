import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  api,
  createSession,
  deltasOf,
  EventStream,
  idleAfter,
  isReplyTo,
  scripted,
  sendMessage,
  streamFromNow,
  waitFor,
  waitForStatus,
  words,
} from './helpers'

describe('a conversation through the Worker with real opencode', () => {
  let id: string

  beforeAll(async () => {
    id = await createSession({ title: 'conversation' })
    await waitForStatus(id, 'idle')
  })

  afterAll(async () => {
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('streams a reply as deltas and completes it with the same text', async () => {
    const stream = new EventStream(id)
    const reply = words(60, 'w')
    // Paced as a model writes: pieces that reach the session together would go out as one delta.
    const messageId = await sendMessage(id, scripted({ reply, delayMs: 20 }))
    const completed = await stream.until(isReplyTo(messageId))
    await stream.close()

    expect(completed.data.text).toBe(reply)
    const assistantId = completed.data.messageId as string
    const deltas = stream.events.filter((e) => e.event === 'message.delta' && e.data.messageId === assistantId)
    // How many depends on how the pieces reach the session (a loaded machine bunches them up).
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltasOf(stream.events, assistantId)).toBe(reply)
    expect(stream.events.find((e) => e.event === 'message.created' && e.data.messageId === assistantId)?.data).toMatchObject({
      role: 'assistant',
      parentId: messageId,
    })
    for (const e of stream.events) expect(e.data).toMatchObject({ sessionId: id, at: expect.any(String) })
  })

  it('shows two clients the same events in the same order', async () => {
    const a = new EventStream(id)
    const b = new EventStream(id)
    const messageId = await sendMessage(id, scripted({ reply: words(40, 'two'), delayMs: 10 }))
    const lastA = await a.until(isReplyTo(messageId))
    await b.until((e) => e.id === lastA.id)
    await a.close()
    await b.close()
    const upTo = (s: EventStream) => s.events.filter((e) => e.id! <= lastA.id!)
    expect(upTo(b)).toEqual(upTo(a))
    expect(upTo(a).length).toBeGreaterThan(10)
  })

  it('replays exactly the missed events to a client that reconnects mid-stream', async () => {
    const first = new EventStream(id)
    const messageId = await sendMessage(id, scripted({ reply: words(80, 'r'), delayMs: 25 }))
    await first.until((e) => e.event === 'message.delta' && /(^| )r10 /.test(e.data.text as string))
    await first.close()
    const seen = first.events
    const lastSeen = seen[seen.length - 1]!.id!

    const resumed = new EventStream(id, { lastEventId: lastSeen })
    const done = await resumed.until(isReplyTo(messageId))
    await resumed.close()

    const everything = new EventStream(id)
    await everything.until((e) => e.id === done.id)
    await everything.close()

    const joined = [...seen, ...resumed.events].filter((e) => e.id! <= done.id!)
    expect(joined.map((e) => e.id)).toEqual(everything.events.filter((e) => e.id! <= done.id!).map((e) => e.id))
    expect(joined).toEqual(everything.events.filter((e) => e.id! <= done.id!))
    expect(deltasOf(joined, done.data.messageId as string)).toBe(words(80, 'r'))
  })

  it('honours ?after= like Last-Event-ID', async () => {
    const all = new EventStream(id)
    await all.until((e) => e.id === 5)
    await all.close()
    const later = new EventStream(id, { after: 3 })
    await later.until((e) => e.id === 5)
    await later.close()
    expect(later.events[0]!.id).toBe(4)
    expect(later.events.slice(0, 2)).toEqual(all.events.slice(3, 5))
  })

  it('answers messages sent while busy one at a time, in order', async () => {
    const stream = await streamFromNow(id)
    const first = await api(`/v1/sessions/${id}/messages`, { body: { text: scripted({ reply: 'first', delayMs: 200, chunks: 5 }) } })
    const second = await api(`/v1/sessions/${id}/messages`, { body: { text: scripted({ reply: 'second' }) } })
    const third = await api(`/v1/sessions/${id}/messages`, { body: { text: scripted({ reply: 'third' }) } })
    expect(second.body.queued).toBe(true)
    expect(third.body.queued).toBe(true)
    const ids = [first, second, third].map((r) => r.body.messageId as string)
    const lastReply = await stream.until(isReplyTo(ids[2]!))
    await stream.until(idleAfter(lastReply.id!))
    await stream.close()

    const replies = stream.events.filter((e) => e.event === 'message.completed' && e.data.role === 'assistant')
    expect(replies.map((e) => e.data.parentId)).toEqual(ids)
    expect(replies.map((e) => e.data.text)).toEqual(['first', 'second', 'third'])
    // Each turn starts only after the previous one is over.
    const statuses = stream.events.filter((e) => e.event === 'session.status').map((e) => e.data.status)
    expect(statuses).toEqual(['busy', 'idle', 'busy', 'idle', 'busy', 'idle'])
  })

  it('waits for the reply with ?wait=true and keeps the conversation', async () => {
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=60`, {
      body: { text: scripted({ reply: 'waited for' }) },
    })
    expect(res.status).toBe(200)
    expect(res.body.reply).toMatchObject({ text: 'waited for', messageId: expect.any(String) })
    expect(res.body.reply.usage.outputTokens).toBeGreaterThan(0)

    const conversation = await api(`/v1/sessions/${id}/messages`)
    expect(conversation.status).toBe(200)
    const last = conversation.body.slice(-2) as { id: string; role: string; text: string }[]
    expect(last.map((m) => m.role)).toEqual(['user', 'assistant'])
    expect(last[0]!.id).toBe(res.body.messageId)
    expect(last[1]).toMatchObject({ id: res.body.reply.messageId, text: 'waited for' })

    const session = await api(`/v1/sessions/${id}`)
    expect(session.body).toMatchObject({ status: 'idle', title: 'conversation', queued: 0 })
    expect(session.body.usage.inputTokens).toBeGreaterThan(0)
    expect(session.body.lastEventId).toBeGreaterThan(0)
  })

  it('runs a message only once for one idempotency key', async () => {
    const body = { text: scripted({ reply: 'once' }), idempotencyKey: `idem-${Date.now()}` }
    const a = await api(`/v1/sessions/${id}/messages`, { body })
    const b = await api(`/v1/sessions/${id}/messages`, { body })
    expect(b.status).toBe(202)
    expect(b.body).toMatchObject({ messageId: a.body.messageId, duplicate: true })
    await waitForStatus(id, 'idle')
    const conversation = await api(`/v1/sessions/${id}/messages`)
    expect(conversation.body.filter((m: { id: string }) => m.id === a.body.messageId)).toHaveLength(1)
  })

  it('pushes the idle deadline out on keepalive', async () => {
    const before = await api(`/v1/sessions/${id}`)
    // The deadline moves with the clock: keepalive must come a millisecond after `before`'s last activity.
    const readAt = Date.now()
    await waitFor('the clock to pass the last activity', () => Date.now() > readAt)
    const res = await api(`/v1/sessions/${id}/keepalive`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.parse(before.body.expiresAt))
  })
})
