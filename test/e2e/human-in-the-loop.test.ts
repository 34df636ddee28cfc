import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  api,
  COLOUR_QUESTION,
  createSession,
  EventStream,
  idleSessionForBlock,
  idleAfter,
  isIdleEvent,
  isReplyTo,
  sandboxesOf,
  scripted,
  sendMessage,
  streamFromNow,
  waitFor,
  waitForStatus,
  words,
  type Json,
  type SseEvent,
} from './helpers'

const bash = (command: string) => ({ tool: { name: 'bash', args: { command, description: `Run ${command}` } } })
const isAsk = (e: SseEvent) => e.event === 'permission.requested'

describe('permissions', () => {
  let id: string
  let workdir: string

  beforeAll(async () => {
    id = await createSession()
    await waitForStatus(id, 'idle')
    workdir = (await sandboxesOf(id))[0]!.workdir
  })

  afterAll(async () => {
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('asks before running a command, and runs it once allowed', async () => {
    const stream = await streamFromNow(id)
    const messageId = await sendMessage(id, scripted({ steps: [bash('touch allowed.txt'), { text: 'made it' }] }))
    const ask = await stream.until(isAsk)
    expect(ask.data).toMatchObject({ permission: 'bash', patterns: ['touch allowed.txt'], permissionId: expect.any(String) })
    expect(existsSync(join(workdir, 'allowed.txt'))).toBe(false)

    const session = await api(`/v1/sessions/${id}`)
    expect(session.body.pending.permissions).toEqual([expect.objectContaining({ permissionId: ask.data.permissionId })])

    const answer = await api(`/v1/sessions/${id}/permissions/${ask.data.permissionId}`, { body: { reply: 'once' } })
    expect(answer.status).toBe(200)
    await stream.until(isReplyTo(messageId))
    await stream.close()
    expect(existsSync(join(workdir, 'allowed.txt'))).toBe(true)
    const resolved = stream.events.filter((e) => e.event === 'permission.resolved')
    expect(resolved.map((e) => e.data)).toEqual([expect.objectContaining({ permissionId: ask.data.permissionId, reply: 'once' })])
    expect((await api(`/v1/sessions/${id}`)).body.pending.permissions).toEqual([])

    const again = await api(`/v1/sessions/${id}/permissions/${ask.data.permissionId}`, { body: { reply: 'once' } })
    expect(again.status).toBe(404)
    expect(again.body.error.code).toBe('not_found')
    const unknown = await api(`/v1/sessions/${id}/permissions/per_unknown`, { body: { reply: 'once' } })
    expect(unknown.status).toBe(404)
  })

  it('feeds a rejection message back to the model', async () => {
    const stream = await streamFromNow(id)
    const messageId = await sendMessage(
      id,
      scripted({ steps: [bash('touch rejected.txt'), { text: 'the tool said: {{tool_result}}' }] }),
    )
    const ask = await stream.until(isAsk)
    const answer = await api(`/v1/sessions/${id}/permissions/${ask.data.permissionId}`, {
      body: { reply: 'reject', message: 'not in this folder, please' },
    })
    expect(answer.status).toBe(200)
    const reply = await stream.until(isReplyTo(messageId))
    await stream.close()
    expect(reply.data.text).toContain('not in this folder, please')
    expect(existsSync(join(workdir, 'rejected.txt'))).toBe(false)
  })

  it('approves the next matching request by itself after `always`', async () => {
    const stream = await streamFromNow(id)
    const messageId = await sendMessage(id, scripted({ steps: [bash('echo one'), bash('echo two'), { text: 'both ran' }] }))
    const ask = await stream.until(isAsk)
    await api(`/v1/sessions/${id}/permissions/${ask.data.permissionId}`, { body: { reply: 'always' } })
    await stream.until(isReplyTo(messageId))
    await stream.close()
    expect(stream.events.filter(isAsk)).toHaveLength(1)
    const outputs = stream.events.filter((e) => e.event === 'tool.updated' && e.data.state === 'completed').map((e) => e.data.output)
    expect(outputs).toEqual([expect.stringContaining('one'), expect.stringContaining('two')])
  })

  it('clears every request that a bare reject ends, not only the one answered', async () => {
    const stream = await streamFromNow(id)
    await sendMessage(id, scripted({ steps: [{ tools: [bash('touch a.txt').tool, bash('touch b.txt').tool] }, { text: 'stopped' }] }))
    const first = await stream.until(isAsk)
    const second = await stream.until((e) => isAsk(e) && e.id !== first.id)
    expect((await api(`/v1/sessions/${id}`)).body.pending.permissions).toHaveLength(2)
    const res = await api(`/v1/sessions/${id}/permissions/${first.data.permissionId}`, { body: { reply: 'reject' } })
    expect(res.status).toBe(200)
    await waitFor('no request to be pending', async () => (await api(`/v1/sessions/${id}`)).body.pending.permissions.length === 0)
    const resolved = await stream.until((e) => e.event === 'permission.resolved' && e.data.permissionId === second.data.permissionId)
    expect(resolved.data.reply).toBe('reject')
    await stream.until((e) => idleAfter(first.id!)(e))
    await stream.close()
    const other = await api(`/v1/sessions/${id}/permissions/${second.data.permissionId}`, { body: { reply: 'once' } })
    expect(other.status).toBe(404)
    expect(existsSync(join(workdir, 'a.txt')) || existsSync(join(workdir, 'b.txt'))).toBe(false)
    expect(stream.events.filter((e) => e.event === 'permission.resolved')).toHaveLength(2)
  })

  it('shows a reconnecting client the open request in its replay and in GET', async () => {
    const before = (await api(`/v1/sessions/${id}`)).body.lastEventId as number
    const live = new EventStream(id, { after: before })
    const messageId = await sendMessage(id, scripted({ steps: [bash('touch later.txt'), { text: 'ok' }] }))
    const ask = await live.until(isAsk)
    await live.close()
    // The live stream started right after what was logged before it, and saw the request in order.
    expect(live.ids[0]).toBe(before + 1)
    expect(live.ids.slice(0, live.ids.indexOf(ask.id!) + 1)).toEqual(Array.from({ length: ask.id! - before }, (_, i) => before + 1 + i))

    const replay = new EventStream(id, { after: ask.id! - 1 })
    const replayed = await replay.until(isAsk)
    expect(replayed).toEqual(ask)
    const session = await api(`/v1/sessions/${id}`)
    expect(session.body.status).toBe('busy')
    expect(session.body.pending.permissions.map((p: { permissionId: string }) => p.permissionId)).toEqual([ask.data.permissionId])

    await api(`/v1/sessions/${id}/permissions/${ask.data.permissionId}`, { body: { reply: 'once' } })
    await replay.until(isReplyTo(messageId))
    await replay.close()
  })
})

/** A kind of request the agent can wait on: how it is asked, named, resolved and answered. */
type RequestKind = {
  kind: string
  step: Json
  asked: string
  resolved: string
  idField: string
  timedOut: Json
  pending: string
  answer: (sessionId: string, requestId: string) => ReturnType<typeof api>
  /** What must follow the resolution before the turn ends, if anything; returns its event. */
  reply?: (stream: EventStream, messageId: string) => Promise<SseEvent>
}

const UNANSWERED: RequestKind[] = [
  {
    kind: 'permission request',
    step: bash('touch never.txt'),
    asked: 'permission.requested',
    resolved: 'permission.resolved',
    idField: 'permissionId',
    timedOut: { reply: 'reject', reason: 'timeout' },
    pending: 'permissions',
    answer: (id, requestId) => api(`/v1/sessions/${id}/permissions/${requestId}`, { body: { reply: 'once' } }),
    // The rejection tells the model why, and the model answers with what it was told.
    reply: async (stream, messageId) => {
      const reply = await stream.until(isReplyTo(messageId))
      expect(reply.data.text).toContain('No one answered in time')
      return reply
    },
  },
  {
    kind: 'question',
    step: COLOUR_QUESTION,
    asked: 'question.asked',
    resolved: 'question.resolved',
    idField: 'questionId',
    timedOut: { rejected: true, reason: 'timeout' },
    pending: 'questions',
    answer: (id, requestId) => api(`/v1/sessions/${id}/questions/${requestId}`, { body: { answers: [['Red']] } }),
  },
]

describe('unattended safety', () => {
  it.each(UNANSWERED)('rejects a $kind nobody answers once pendingTimeoutSeconds have passed, and the turn ends', async (k) => {
    const id = await createSession({ pendingTimeoutSeconds: 2 })
    await waitForStatus(id, 'idle')
    const stream = await streamFromNow(id)
    const messageId = await sendMessage(id, scripted({ steps: [k.step, { text: 'told: {{tool_result}}' }] }))
    const asked = await stream.until((e) => e.event === k.asked)
    const resolved = await stream.until((e) => e.event === k.resolved)
    expect(resolved.data).toMatchObject({ [k.idField]: asked.data[k.idField], ...k.timedOut })
    const last = (await k.reply?.(stream, messageId)) ?? resolved
    await stream.until(idleAfter(last.id!))
    await stream.close()
    expect(stream.events.filter((e) => e.event === k.resolved)).toHaveLength(1)
    expect((await api(`/v1/sessions/${id}`)).body.pending[k.pending]).toEqual([])
    const late = await k.answer(id, asked.data[k.idField])
    expect(late.status).toBe(404)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('questions', () => {
  const session = idleSessionForBlock()


  it('asks the client and hands the chosen labels back to the model', async () => {
    const stream = await streamFromNow(session())
    const messageId = await sendMessage(session(), scripted({ steps: [COLOUR_QUESTION, { text: 'answer was {{tool_result}}' }] }))
    const asked = await stream.until((e) => e.event === 'question.asked')
    expect(asked.data.questions).toEqual([expect.objectContaining({ question: 'Which colour should the button be?' })])
    expect((await api(`/v1/sessions/${session()}`)).body.pending.questions).toHaveLength(1)

    const bad = await api(`/v1/sessions/${session()}/questions/${asked.data.questionId}`, { body: { answers: 'Blue' } })
    expect(bad.status).toBe(400)
    const res = await api(`/v1/sessions/${session()}/questions/${asked.data.questionId}`, { body: { answers: [['Blue']] } })
    expect(res.status).toBe(200)
    const reply = await stream.until(isReplyTo(messageId))
    await stream.close()
    expect(reply.data.text).toContain('Blue')
    expect(stream.events.find((e) => e.event === 'question.resolved')?.data).toMatchObject({
      questionId: asked.data.questionId,
      answers: [['Blue']],
    })
    const twice = await api(`/v1/sessions/${session()}/questions/${asked.data.questionId}`, { body: { answers: [['Red']] } })
    expect(twice.status).toBe(404)
  })

  it('lets the client decline a question', async () => {
    const stream = await streamFromNow(session())
    const messageId = await sendMessage(session(), scripted({ steps: [COLOUR_QUESTION, { text: 'fine' }] }))
    const asked = await stream.until((e) => e.event === 'question.asked')
    const res = await api(`/v1/sessions/${session()}/questions/${asked.data.questionId}`, { body: { reject: true } })
    expect(res.status).toBe(200)
    const resolved = await stream.until((e) => e.event === 'question.resolved')
    expect(resolved.data).toMatchObject({ questionId: asked.data.questionId, rejected: true })
    await stream.until((e) => idleAfter(resolved.id!)(e) || isReplyTo(messageId)(e))
    await stream.close()
    expect((await api(`/v1/sessions/${session()}`)).body.pending.questions).toEqual([])
  })
})

describe('abort and the queue', () => {
  const session = idleSessionForBlock()

  const slowReply = (tag: string) => words(200, tag)
  const slow = (tag: string) => scripted({ reply: slowReply(tag), delayMs: 50 })

  it('stops the running turn and keeps what was queued behind it', async () => {
    const stream = await streamFromNow(session())
    const running = await sendMessage(session(), slow('s'))
    const queued = await sendMessage(session(), scripted({ reply: 'after the abort' }))
    await stream.until((e) => e.event === 'message.delta')
    const res = await api(`/v1/sessions/${session()}/abort`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ aborted: true, dropped: 0 })
    const idle = await stream.until(isIdleEvent)
    expect(idle.data.reason).toBe('aborted')
    expect(stream.events.some((e) => e.event === 'error' && e.data.code === 'aborted')).toBe(true)
    const next = await stream.until(isReplyTo(queued))
    await stream.close()
    expect(next.data.text).toBe('after the abort')
    // The aborted turn's answer was completed with what had streamed, cut short of the whole reply.
    const abortedReply = stream.events.find(
      (e) => e.event === 'message.completed' && e.data.role === 'assistant' && e.data.parentId === running,
    )
    expect(abortedReply).toBeDefined()
    const full = slowReply('s')
    expect(full.startsWith(abortedReply!.data.text as string)).toBe(true)
    expect((abortedReply!.data.text as string).length).toBeLessThan(full.length)
    expect(abortedReply!.data.text).not.toContain('s199')
  })

  it('drops the queue too with clearQueue', async () => {
    const stream = await streamFromNow(session())
    await sendMessage(session(), slow('c'))
    const dropped = await sendMessage(session(), scripted({ reply: 'never sent' }))
    await stream.until((e) => e.event === 'message.delta')
    const res = await api(`/v1/sessions/${session()}/abort`, { body: { clearQueue: true } })
    expect(res.body).toEqual({ aborted: true, dropped: 1 })
    await stream.until(isIdleEvent)
    const view = await waitForStatus(session(), 'idle')
    expect(view.queued).toBe(0)
    // Turns run in order: once a message sent after the abort is answered, the dropped one never will be.
    const after = await sendMessage(session(), scripted({ reply: 'after the clear' }))
    const answered = await stream.until(isReplyTo(after))
    await stream.until(idleAfter(answered.id!))
    await stream.close()
    expect(stream.events.some(isReplyTo(dropped))).toBe(false)
  })

  it('refuses messages past the queue bound with 429, and takes them again once there is room', async () => {
    await sendMessage(session(), slow('q'))
    await waitFor('the turn to start', async () => (await api(`/v1/sessions/${session()}`)).body.status === 'busy')
    let status = 202
    let sent = 0
    while (status === 202 && sent < 200) {
      status = (await api(`/v1/sessions/${session()}/messages`, { body: { text: `filler ${sent}` } })).status
      sent++
    }
    expect(status).toBe(429)
    expect(sent).toBe(101)
    const refused = await api(`/v1/sessions/${session()}/messages`, { body: { text: 'one more' } })
    expect(refused.body.error.code).toBe('too_many_requests')
    await api(`/v1/sessions/${session()}/abort`, { body: { clearQueue: true } })
    await waitForStatus(session(), 'idle')
    const res = await api(`/v1/sessions/${session()}/messages?wait=true&timeout=60`, { body: { text: scripted({ reply: 'room again' }) } })
    expect(res.body.reply.text).toBe('room again')
  })

  it('answers abort on an idle session without stopping anything', async () => {
    const res = await api(`/v1/sessions/${session()}/abort`, { method: 'POST' })
    expect(res.body).toEqual({ aborted: false, dropped: 0 })
  })
})
