import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import {
  api,
  COLOUR_QUESTION,
  deltasOf,
  EventStream,
  expectGapless,
  idleAfter,
  isReplyTo,
  newIdleSession,
  logEvents,
  sandboxesOf,
  sandboxHost,
  scripted,
  sendMessage,
  streamFromNow,
  waitFor,
  words,
} from '../helpers'
import { FAULTS_OPTIONS, FAULTS_SETTINGS, TIMINGS } from './settings'

/**
 * The promises of "When things break" (docs/operations.md) that faults.test.ts does not cover: how a
 * hang and a disappearance are noticed, and what survives restarts.
 */

const own = ownStackForFile('recovery', FAULTS_SETTINGS, FAULTS_OPTIONS)

const linkEnds = (sessionId: string) =>
  logEvents(own().logFile).filter((l) => l.msg === 'agent stream ended' && l.sessionId === sessionId)

describe('a silently hanging agent', () => {
  it('is noticed by the silence of its event stream, and the session carries on once it answers again', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const pid = sandbox!.opencodePid!
    const stream = new EventStream(id)
    const text = words(200, 'z')
    const messageId = await sendMessage(id, scripted({ reply: text, delayMs: 10 }))
    await stream.until((e) => e.event === 'message.delta')
    // Stopped, not killed: its connections stay open and nothing ends them, only silence shows.
    process.kill(pid, 'SIGSTOP')
    const stopped = Date.now()
    let silent
    try {
      silent = await waitFor('the silence to be noticed', async () => linkEnds(id).find((l) => l.reason === 'silent'), 4 * TIMINGS.silenceMs)
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    // docs/operations.md: within the silence limit (30 s; TIMINGS shortens it here). The link checks six
    // times per limit, and the log takes a moment to read.
    expect(Date.now() - stopped).toBeLessThan(TIMINGS.silenceMs * (7 / 6) + 3_000)
    expect(silent.reason).toBe('silent')
    expect(stream.events.some(isReplyTo(messageId))).toBe(false)

    const reply = await stream.until(isReplyTo(messageId))
    await stream.until(idleAfter(reply.id!))
    await stream.close()
    expect(reply.data.text).toBe(text)
    expect(reply.data.error).toBeUndefined()
    expect(deltasOf(stream.events, reply.data.messageId as string)).toBe(text)
    expect(stream.events.filter((e) => e.event === 'message.completed' && e.data.messageId === reply.data.messageId)).toHaveLength(1)
    expectGapless(stream.events)
    // The agent was only hung: the session reconnected to the same one rather than restarting it.
    expect((await sandboxesOf(id))[0]!.opencodePid).toBe(pid)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('the whole sandbox disappears while a client follows the session', () => {
  it('is noticed at once from the agent stream ending, not at the next alarm', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const stream = new EventStream(id)
    const messageId = await sendMessage(id, scripted({ reply: words(300, 'd'), delayMs: 20 }))
    await stream.until((e) => e.event === 'message.delta')
    await sandboxHost(`/sandboxes/${sandbox!.sandboxId}`, 'DELETE')

    const lost = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'lost')
    // The alarm's path names itself 'reconnecting'; the stream's end names the stream.
    expect(lost.data.reason).toBe('the agent event stream ended')
    // Cut mid-reply, the stream's body ends without its end: the read fails rather than closes.
    expect(linkEnds(id).map((l) => l.reason)).toEqual(['failed'])
    const cut = await stream.until(isReplyTo(messageId))
    expect(cut.data.error?.code).toBe('interrupted')
    expect(cut.id!).toBeGreaterThan(lost.id!)
    await stream.close()
    expectGapless(stream.events)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('the agent process crashes', () => {
  it('is restarted on its sandbox saying it exited, not once a health check gives up on it', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const stream = await streamFromNow(id)
    process.kill(sandbox!.opencodePid!, 'SIGKILL')
    const restarting = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'restarting')
    // The sandbox host's word on its child, as E2B's envd ends the process's stream with its exit.
    expect(restarting.data.detail).toBe('opencode was ended by SIGKILL')
    const exited = await waitFor('the exit in the log', async () => logEvents(own().logFile).find((l) => l.msg === 'agent exited' && l.sessionId === id), 10_000)
    expect(exited.exit).toBe('opencode was ended by SIGKILL')
    const ready = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'ready')
    expect(ready.data.reason).toBe('agent restarted')
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('the agent dies while a question is open', () => {
  it('resolves the forgotten question as lost, so none stays pending', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const stream = new EventStream(id)
    await sendMessage(id, scripted({ steps: [COLOUR_QUESTION, { text: 'never' }] }))
    const asked = await stream.until((e) => e.event === 'question.asked')
    expect((await api(`/v1/sessions/${id}`)).body.pending.questions).toHaveLength(1)
    process.kill(sandbox!.opencodePid!, 'SIGKILL')
    const resolved = await stream.until((e) => e.event === 'question.resolved')
    expect(resolved.data).toMatchObject({ questionId: asked.data.questionId, rejected: true, reason: 'lost' })
    await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'ready' && e.id! > resolved.id!)
    await stream.close()
    expect((await api(`/v1/sessions/${id}`)).body.pending.questions).toEqual([])
    const late = await api(`/v1/sessions/${id}/questions/${asked.data.questionId}`, { body: { answers: [['Red']] } })
    expect(late.status).toBe(404)
    expectGapless(stream.events)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('opencode keeps its own session', () => {
  it('across a Worker restart and an agent restart: the model still sees the earlier turns', async () => {
    const id = await newIdleSession({ permissions: { bash: 'allow' } })
    const marker = `marker-${Date.now()}`
    const first = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, {
      body: { text: scripted({ steps: [{ tool: { name: 'bash', args: { command: `echo ${marker}`, description: 'mark' } } }, { text: 'marked' }] }) },
    })
    expect(first.body.reply.text).toBe('marked')
    // With no tool call of its own, the scripted model quotes the last tool result in the history opencode sends it.
    const recall = async () => {
      const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'recalled [{{tool_result}}]' }) } })
      expect(res.status).toBe(200)
      return res.body.reply.text as string
    }

    await own().stack.restartWorker()
    expect(await recall()).toContain(marker)

    const [sandbox] = await sandboxesOf(id)
    const stream = await streamFromNow(id)
    process.kill(sandbox!.opencodePid!, 'SIGKILL')
    const ready = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'ready')
    expect(ready.data.reason).toBe('agent restarted')
    await stream.close()
    expect(await recall()).toContain(marker)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
