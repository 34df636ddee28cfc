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
  waitForStatus,
  words,
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
})

