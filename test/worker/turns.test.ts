import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { Conversation } from '../../src/session/turns/conversation'
import { MessageQueue } from '../../src/session/turns/queue'
import { MAX_QUEUED, type Turns, type TurnParts } from '../../src/session/turns/turns'
import { joinedTurns, RecordedSignals, ScriptedAgent } from './session-fakes'

/**
 * The session's turns inside workerd, on a real session's SQLite, with a scripted agent: the
 * order messages run in, how each turn ends, and what whoever waits for a reply gets.
 */

type Harness = { turns: Turns; parts: TurnParts; agent: ScriptedAgent; signals: RecordedSignals; queue: MessageQueue; counts: { aborted: number; interrupted: string[]; ended: string[]; structured: unknown[] } }

async function withTurns(name: string, body: (h: Harness) => Promise<void>) {
  await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName(name)), async (_instance, state) => {
    const agent = new ScriptedAgent()
    const signals = new RecordedSignals()
    const queue = new MessageQueue(state.storage.sql)
    const counts = { aborted: 0, interrupted: [] as string[], ended: [] as string[], structured: [] as unknown[] }
    const parts: TurnParts = {
      queue,
      conversation: new Conversation(state.storage.sql),
      signals,
      status: signals,
      isOver: () => signals.status === 'ended',
      promptFor: (m) => ({ messageId: m.id, text: m.text }),
      aborted: () => counts.aborted++,
    }
    const watcher = { prompting: () => {}, interruptOpen: (e: { message: string }) => void counts.interrupted.push(e.message) }
    const ends = {
      ended: (id: string, _reply: unknown, structured?: unknown) => {
        counts.ended.push(id)
        counts.structured.push(structured)
      },
    }
    await body({ turns: joinedTurns(parts, agent, watcher, ends), parts, agent, signals, queue, counts })
  })
}

describe('turns', () => {
  it('runs messages one at a time, in the order they came, each to its own reply', async () => {
    await withTurns('turns-order', async ({ turns, agent, signals }) => {
      const first = turns.enqueue({ text: 'one' })
      const second = turns.enqueue({ text: 'two' })
      expect(first.ok && first.value.queued).toBe(false)
      expect(second.ok && second.value.queued).toBe(true)
      expect(agent.prompts.map((p) => p.text)).toEqual(['one'])
      expect(signals.status).toBe('busy')
      const firstId = first.ok ? first.value.messageId : ''
      const reply = turns.waitForReply(firstId, 5_000)
      turns.step(undefined, { kind: 'agent_busy' })
      turns.assistantCompleted(firstId, 'asst_1', 'answer one', { inputTokens: 3, outputTokens: 4, cost: 0.5 })
      turns.step(undefined, { kind: 'agent_idle' })
      expect(await reply).toEqual({ ok: true, value: { messageId: 'asst_1', text: 'answer one', usage: { inputTokens: 3, outputTokens: 4, cost: 0.5 } } })
      expect(agent.prompts.map((p) => p.text)).toEqual(['one', 'two'])
      expect(turns.currentMessageId).toBe(second.ok ? second.value.messageId : '')
    })
  })

  it("hands the end of a turn its structured answer, which came in a message without text", async () => {
    await withTurns('turns-structured', async ({ turns, counts }) => {
      const sent = turns.enqueue({ text: 'one' })
      const id = sent.ok ? sent.value.messageId : ''
      const reply = turns.waitForReply(id, 5_000)
      const usage = { inputTokens: 1, outputTokens: 1, cost: 0 }
      turns.step(undefined, { kind: 'agent_busy' })
      turns.assistantCompleted(id, 'asst_1', 'looking', usage)
      turns.assistantCompleted(id, 'asst_2', '', usage, { answer: 42 })
      turns.step(undefined, { kind: 'agent_idle' })
      expect(await reply).toMatchObject({ ok: true, value: { messageId: 'asst_1', text: 'looking' } })
      expect(counts.structured).toEqual([{ answer: 42 }])
    })
  })

  it('does not end a turn on the idle opencode reports before it picked the message up', async () => {
    await withTurns('turns-early-idle', async ({ turns }) => {
      turns.enqueue({ text: 'one' })
      expect(turns.step(undefined, { kind: 'agent_idle' })).toBe(false)
      expect(turns.running).toBe(true)
    })
  })

  it('answers a repeated idempotency key with the first message, and refuses past the queue limit', async () => {
    await withTurns('turns-idempotent', async ({ turns, queue }) => {
      const first = turns.enqueue({ text: 'one', idempotencyKey: 'k1' })
      const again = turns.enqueue({ text: 'one again', idempotencyKey: 'k1' })
      expect(again).toEqual({ ok: true, value: { messageId: first.ok ? first.value.messageId : '', queued: false, duplicate: true } })
      for (let i = 0; i < MAX_QUEUED; i++) turns.enqueue({ text: `m${i}` })
      expect(queue.waiting()).toBe(MAX_QUEUED)
      const refused = turns.enqueue({ text: 'one too many' })
      expect(refused.ok ? undefined : refused.error.code).toBe('too_many_requests')
    })
  })

  it('fails a turn whose prompt opencode refuses, and goes on with the next', async () => {
    await withTurns('turns-refused', async ({ turns, agent, queue, signals }) => {
      agent.promptStatus = 400
      const first = turns.enqueue({ text: 'one' })
      const firstId = first.ok ? first.value.messageId : ''
      const reply = turns.waitForReply(firstId, 5_000)
      agent.promptStatus = 204
      turns.enqueue({ text: 'two' })
      const outcome = await reply
      expect(outcome.ok ? undefined : outcome.error.code).toBe('agent_unreachable')
      expect(signals.of('error')).toEqual([{ code: 'agent_unreachable', message: 'opencode refused the message (400)' }])
      expect(queue.running()?.text).toBe('two')
      expect(agent.prompts.map((p) => p.text)).toEqual(['one', 'two'])
    })
  })

  it('ends an aborted turn itself when opencode cannot be told, and checks the open requests', async () => {
    await withTurns('turns-abort', async (h) => {
      const { turns, agent, signals } = h
      const first = turns.enqueue({ text: 'one' })
      turns.enqueue({ text: 'two' })
      agent.abortStatus = 500
      expect(await turns.abort(true)).toEqual({ aborted: true, dropped: 1 })
      expect(turns.running).toBe(false)
      expect(h.queue.running()).toBeUndefined()
      expect(h.counts.aborted).toBe(1)
      expect(signals.of('session.status').at(-1)).toEqual({ status: 'idle', reason: 'aborted' })
      expect(h.counts.ended).toEqual([first.ok ? first.value.messageId : ''])
      expect(agent.prompts).toHaveLength(1)
    })
  })

  it('waits for opencode to settle an abort it heard', async () => {
    await withTurns('turns-abort-heard', async ({ turns, agent }) => {
      turns.enqueue({ text: 'one' })
      expect(await turns.abort(false)).toEqual({ aborted: true, dropped: 0 })
      expect(agent.aborts).toBe(1)
      expect(turns.running).toBe(true)
      turns.step(undefined, { kind: 'agent_busy' })
      turns.step(undefined, { kind: 'agent_idle' })
      expect(turns.running).toBe(false)
    })
  })

  it('interrupts the turn when its sandbox is lost, and its waiter hears the agent failed', async () => {
    await withTurns('turns-lost', async (h) => {
      const first = h.turns.enqueue({ text: 'one' })
      const reply = h.turns.waitForReply(first.ok ? first.value.messageId : '', 5_000)
      h.turns.step(undefined, { kind: 'sandbox_lost', reason: 'the sandbox is gone' })
      const outcome = await reply
      expect(outcome.ok ? undefined : outcome.error).toMatchObject({ code: 'agent_unreachable', message: 'the turn was lost: the sandbox is gone' })
      expect(h.counts.interrupted).toEqual(['the turn was lost: the sandbox is gone'])
    })
  })

  it('picks a message opencode was running back up as the running turn after a gap', async () => {
    await withTurns('turns-adopt', async ({ turns, parts, queue, agent }) => {
      turns.enqueue({ text: 'one' })
      // A restarted session object: the same storage, a new Turns that knows of no running turn.
      const fresh = joinedTurns(parts, agent)
      expect(fresh.running).toBe(false)
      fresh.adoptRunning()
      expect(fresh.currentMessageId).toBe(queue.running()?.id)
      expect(fresh.step(undefined, { kind: 'resynced', agentBusy: false })).toBe(true)
    })
  })

  it('gives a waiter a timeout when no reply comes in time, and the turn goes on', async () => {
    await withTurns('turns-timeout', async ({ turns }) => {
      const first = turns.enqueue({ text: 'one' })
      const outcome = await turns.waitForReply(first.ok ? first.value.messageId : '', 10)
      expect(outcome.ok ? undefined : outcome.error.code).toBe('timeout')
      expect(turns.running).toBe(true)
    })
  })
})
