import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import {
  api,
  expectAnswered,
  createSession,
  deltasOf,
  EventStream,
  expectGapless,
  idleAfter,
  isReplyTo,
  newIdleSession,
  sandboxesOf,
  scripted,
  sendMessage,
  TEST_KEYS,
  waitFor,
  waitForStatus,
  words,
  type Json,
} from '../helpers'
import { FAULTS_OPTIONS, FAULTS_SETTINGS } from './settings'

/**
 * The Worker restarted under running sessions, on the faults stack: the log, the queue and the
 * conversation are kept, and a model call the restart cut off is retried whole.
 */

const own = ownStackForFile('faults-restart', FAULTS_SETTINGS, FAULTS_OPTIONS)

describe('the Worker restarts', () => {
  it('keeps the log and the queue: clients resume where they were and queued messages still run', async () => {
    const id = await createSession({ permissions: { bash: 'allow' } })
    await waitForStatus(id, 'idle')
    const stream = new EventStream(id)
    // The restart lands while the agent's command runs, so no model call is in flight through the
    // gateway (a crash cuts those: see the next test). The command waits for the test's go.
    const wait = 'while [ ! -f go ]; do sleep 0.1; done; echo went'
    const running = await sendMessage(
      id,
      scripted({ steps: [{ tool: { name: 'bash', args: { command: wait, description: 'wait for go' } } }, { text: words(200, 'w') }], delayMs: 20 }),
    )
    const queued = [await sendMessage(id, scripted({ reply: 'second' })), await sendMessage(id, scripted({ reply: 'third' }))]
    await stream.until((e) => e.event === 'tool.updated' && e.data.state === 'running')
    await stream.close()

    await own().stack.restartWorker()
    const [sandbox] = await sandboxesOf(id)
    writeFileSync(join(sandbox!.workdir, 'go'), '')

    const resumed = new EventStream(id, { lastEventId: stream.events.at(-1)!.id })
    const last = await resumed.until(isReplyTo(queued[1]!))
    await resumed.until(idleAfter(last.id!))
    await resumed.close()
    const all = [...stream.events, ...resumed.events]
    expectGapless(all)
    const replies = all.filter((e) => e.event === 'message.completed' && e.data.role === 'assistant' && e.data.text !== '')
    expect(replies.map((e) => e.data.parentId)).toEqual([running, ...queued])
    expect(replies[0]!.data.text).toBe(words(200, 'w'))
    expect(deltasOf(all, replies[0]!.data.messageId as string)).toBe(words(200, 'w'))
    expect(replies.slice(1).map((e) => e.data.text)).toEqual(['second', 'third'])
    expect((await api(`/v1/sessions/${id}`)).body).toMatchObject({ status: 'idle', queued: 0 })
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('retries a model call the restart cut off: the reply completes whole, the queue runs, and the log has no hole', async () => {
    const id = await newIdleSession()
    const stream = new EventStream(id)
    const model = own().stack.model!.url.replace(/\/v1$/, '')
    const cutBefore = (await (await fetch(`${model}/_cut`)).json()) as number
    const marker = `cut-call-${Date.now()}`
    const running = await sendMessage(id, scripted({ reply: words(200, 'w'), delayMs: 20 }, marker))
    const queued = await sendMessage(id, scripted({ reply: 'second' }))
    await stream.until((e) => e.event === 'message.delta')
    await stream.close()

    await own().stack.restartWorker()

    const resumed = new EventStream(id, { lastEventId: stream.events.at(-1)!.id })
    const last = await resumed.until(isReplyTo(queued))
    await resumed.until(idleAfter(last.id!))
    await resumed.close()
    const all = [...stream.events, ...resumed.events]
    expectGapless(all)
    const replies = all.filter((e) => e.event === 'message.completed' && e.data.role === 'assistant' && e.data.text !== '')
    expect(replies.map((e) => e.data.parentId)).toEqual([running, queued])
    expect(replies.map((e) => e.data.text)).toEqual([words(200, 'w'), 'second'])
    // The cut attempt's pieces were streamed as they came; the attempt after it streams the whole
    // reply again, and message.completed carries the reply as it stands.
    const pieces = deltasOf(all, replies[0]!.data.messageId as string)
    expect(pieces.endsWith(words(200, 'w'))).toBe(true)
    expect(words(200, 'w').startsWith(pieces.slice(0, pieces.length - words(200, 'w').length).trim())).toBe(true)
    // The model saw the call twice: once cut off by the restart, once whole.
    type Call = { messages?: { role: string; content?: unknown }[] }
    const calls = ((await (await fetch(`${model}/_requests`)).json()) as Call[]).filter((r) => {
      const last = r.messages?.at(-1)
      const system = JSON.stringify(r.messages?.filter((m) => m.role === 'system') ?? [])
      return last?.role === 'user' && JSON.stringify(last.content).includes(marker) && !/title generator/i.test(system)
    })
    expect(calls).toHaveLength(2)
    expect((await (await fetch(`${model}/_cut`)).json()) as number).toBeGreaterThan(cutBefore)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('lets a message sent after the restart run, with the conversation intact', async () => {
    const id = await newIdleSession()
    await expectAnswered(id, 'before')
    await own().stack.restartWorker()
    await expectAnswered(id, 'after')
    const conversation = await api(`/v1/sessions/${id}/messages`)
    expect(conversation.body.filter((m: { role: string }) => m.role === 'assistant').map((m: { text: string }) => m.text)).toEqual([
      'before',
      'after',
    ])
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it("counts a turn that ended just before the restart once: its turn, its tokens and opencode's figure, as the provider billed them", async () => {
    // A tenant of its own: its usage is only this test's.
    const key = TEST_KEYS[3]
    const model = own().stack.model!.url.replace(/\/v1$/, '')
    const usageNow = async () => (await api('/v1/usage', { key })).body as Json
    const billedFor = async (mark: string) => (await (await fetch(`${model}/_billed?mark=${mark}`)).json()) as { answers: number; prompt: number; completion: number }
    // A title given, so that no call is outside the turns (a title call cut by the restart would be charged its reservation).
    const id = await newIdleSession({ title: 'metered across a restart' }, key)
    const stream = new EventStream(id, { key })
    const mark = `restart-usage-${Date.now()}`
    const sent = await api(`/v1/sessions/${id}/messages`, { key, body: { text: scripted({ reply: 'counted once', usage: { prompt: 1200, completion: 40 } }, `${mark} before`) } })
    const before = sent.body.messageId as string
    const ended = await stream.until(isReplyTo(before))
    await stream.until(idleAfter(ended.id!))
    await stream.close()
    // The turn has ended; its reports (the turn, its model call, opencode's figure) may or may not
    // have reached the tenant: what the outbox still held is sent again after the restart.
    await own().stack.restartWorker()
    // A turn after the restart: by its end the session has caught up with its agent again, so a
    // report sent twice, or the ended turn seen again, would have been counted by then.
    const after = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { key, body: { text: scripted({ reply: 'after', usage: { prompt: 800, completion: 30 } }, `${mark} after`) } })
    expect(after.body.reply.text).toBe('after')

    const billed = await billedFor(mark)
    const session = (await api(`/v1/sessions/${id}`, { key })).body
    const usage = await waitFor('both turns to be counted', async () => {
      const u = await usageNow()
      return u.totals.turns >= 2 && u.totals.outputTokens >= billed.completion ? u : undefined
    })
    expect(billed.answers).toBe(2)
    expect(usage.totals).toMatchObject({ sessions: 1, turns: 2, inputTokens: billed.prompt, outputTokens: billed.completion })
    expect(session.spend).toMatchObject({ inputTokens: billed.prompt, outputTokens: billed.completion })
    expect(usage.models).toEqual([expect.objectContaining({ calls: 2, inputTokens: billed.prompt, outputTokens: billed.completion })])
    // opencode's own figure agrees with the bill here (no title call, no cache), so it is not shown
    // beside it: counted twice, it would be.
    expect(session.usage).toMatchObject({ inputTokens: billed.prompt, outputTokens: billed.completion })
    expect(usage.totals.opencode).toBeUndefined()
    await api(`/v1/sessions/${id}`, { method: 'DELETE', key })
  })
})
