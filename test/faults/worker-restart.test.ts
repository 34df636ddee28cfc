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
  sandboxHost,
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

  it("counts a turn that ended while the session could not hear it, then the Worker restarted: reported after the restart, once", async () => {
    // A tenant of its own: its usage is only this test's.
    const key = TEST_KEYS[3]
    const model = own().stack.model!.url.replace(/\/v1$/, '')
    const usageNow = async () => (await api('/v1/usage', { key })).body as Json
    const billedFor = async (mark: string) => (await (await fetch(`${model}/_billed?mark=${mark}`)).json()) as { answers: number; prompt: number; completion: number }
    // A title given, so that no call is outside the turns.
    const id = await newIdleSession({ title: 'metered across a restart', permissions: { bash: 'allow' } }, key)
    const [sandbox] = await sandboxesOf(id)
    const stream = new EventStream(id, { key })
    const mark = `restart-usage-${Date.now()}`
    const wait = 'while [ ! -f go ]; do sleep 0.1; done; echo went'
    const steps = [{ tool: { name: 'bash', args: { command: wait, description: 'wait for go' } } }, { text: 'counted once' }]
    await api(`/v1/sessions/${id}/messages`, { key, body: { text: scripted({ steps, usage: { prompt: 1200, completion: 40 } }, mark) } })
    await stream.until((e) => e.event === 'tool.updated' && e.data.state === 'running')
    await stream.close()

    // From here the session hears nothing from its agent: its connections to opencode are cut and
    // its new ones held. The turn ends in the sandbox: its last model call passes the gateway and
    // is settled, but the session does not learn that the turn is over.
    const faults = `/sandboxes/${sandbox!.sandboxId}/faults`
    await sandboxHost(`${faults}/hold`, 'POST')
    await sandboxHost(`${faults}/cut`, 'POST')
    writeFileSync(join(sandbox!.workdir, 'go'), '')
    const billed = await waitFor("the turn's two calls to be billed", async () => {
      const b = await billedFor(mark)
      return b.answers === 2 ? b : undefined
    })
    await waitFor('its last call to be settled', async () => ((await api(`/v1/sessions/${id}`, { key })).body.spend.outputTokens === billed.completion ? true : undefined))
    expect((await usageNow()).totals.turns).toBe(0)

    // The Worker restarts before the turn's end is reported; the session hears its agent again after.
    await own().stack.restartWorker({ whileDown: () => sandboxHost(`${faults}/hold`, 'DELETE') })
    const usage = await waitFor('the turn to be counted', async () => {
      const u = await usageNow()
      return u.totals.turns >= 1 ? u : undefined
    })
    // A turn after it: by its end any report sent twice, or the ended turn seen twice, would show.
    const after = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { key, body: { text: scripted({ reply: 'after' }) } })
    expect(after.body.reply.text).toBe('after')
    const replies = (await api(`/v1/sessions/${id}/messages`, { key })).body.filter((m: Json) => m.role === 'assistant' && m.text !== '').map((m: Json) => m.text)
    expect(replies).toEqual(['counted once', 'after'])

    expect(usage.totals).toMatchObject({ sessions: 1, turns: 1, inputTokens: billed.prompt, outputTokens: billed.completion })
    const final = await waitFor('the second turn to be counted', async () => {
      const u = await usageNow()
      return u.totals.turns >= 2 ? u : undefined
    })
    const session = (await api(`/v1/sessions/${id}`, { key })).body
    expect(final.totals).toMatchObject({ sessions: 1, turns: 2, inputTokens: session.spend.inputTokens, outputTokens: session.spend.outputTokens })
    expect(final.models).toEqual([expect.objectContaining({ calls: 3 })])
    // opencode's own figure agrees with the bill here (no title call, no cache), so it is not shown
    // beside it: counted twice, it would be.
    expect(session.usage).toMatchObject({ inputTokens: session.spend.inputTokens, outputTokens: session.spend.outputTokens })
    expect(final.totals.opencode).toBeUndefined()
    await api(`/v1/sessions/${id}`, { method: 'DELETE', key })
  })
})
