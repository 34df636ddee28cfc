import type { Event as AgentEvent } from '@opencode-ai/sdk/v2/client'
import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { HumanRequests } from '../../src/session/agent/human-requests'
import { PendingRequests } from '../../src/session/agent/pending'
import { permissionRequest, RecordedSignals, ScriptedAgent } from './session-fakes'

/**
 * Permissions and questions inside workerd, on a real session's SQLite, with a scripted agent:
 * each request is answered through the agent and announced as ended exactly once.
 */

type Harness = { human: HumanRequests; agent: ScriptedAgent; signals: RecordedSignals; pending: PendingRequests; announced: AgentEvent[] }

async function withRequests(name: string, body: (h: Harness) => Promise<void>, opts: { agent?: boolean; deadline?: number } = {}) {
  await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName(name)), async (_instance, state) => {
    const agent = new ScriptedAgent()
    const signals = new RecordedSignals()
    const pending = new PendingRequests(state.storage.sql)
    const announced: AgentEvent[] = []
    const human = new HumanRequests({
      pending,
      sink: signals,
      deadline: () => opts.deadline ?? Date.now() + 60_000,
      scheduleWake: async () => {},
    })
    human.neighbours.join({
      agents: { agent: () => (opts.agent === false ? undefined : agent) },
      events: {
        concerns: (ev) => (ev.properties as { sessionID?: string }).sessionID === 'ses_agent',
        onAgentEvent: (ev) => void announced.push(ev),
      },
    })
    await body({ human, agent, signals, pending, announced })
  })
}

const question = { questionId: 'que_1', questions: [{ question: 'which?', options: [] }] }
const permission = { permissionId: 'per_1', permission: 'bash', patterns: ['ls'], metadata: {} }

describe('human requests', () => {
  it('hands an answer to the agent and announces the end once, whoever else ends it', async () => {
    await withRequests('human-answer', async ({ human, agent, signals }) => {
      human.asked('permission', 'per_1', permission)
      human.asked('question', 'que_1', question)
      expect(human.view()).toEqual({ permissions: [permission], questions: [question] })
      expect(await human.answer({ kind: 'permission', id: 'per_1', reply: 'once' })).toEqual({ ok: true, value: { reply: 'once' } })
      expect(await human.answer({ kind: 'question', id: 'que_1', answers: [['a']] })).toEqual({ ok: true, value: { answers: [['a']] } })
      expect(agent.answers).toEqual([
        { kind: 'permission', id: 'per_1', reply: 'once' },
        { kind: 'question', id: 'que_1', answers: [['a']] },
      ])
      // opencode's echo of the same answers arrives afterwards: nothing more is announced.
      expect(human.resolve('permission', 'per_1', { reply: 'once' })).toBe(false)
      expect(human.resolve('question', 'que_1', { answers: [['a']] })).toBe(false)
      expect(signals.of('permission.resolved')).toEqual([{ permissionId: 'per_1', reply: 'once' }])
      expect(signals.of('question.resolved')).toEqual([{ questionId: 'que_1', answers: [['a']] }])
      expect(human.view()).toEqual({ permissions: [], questions: [] })
    })
  })

  it('says not found for a request nobody asked, and unavailable without an agent', async () => {
    await withRequests('human-unknown', async ({ human }) => {
      const unknown = await human.answer({ kind: 'question', id: 'que_x', reject: true })
      expect(unknown.ok ? undefined : unknown.error).toEqual({ code: 'not_found', message: 'no such pending question' })
    })
    await withRequests(
      'human-no-agent',
      async ({ human }) => {
        human.asked('permission', 'per_1', permission)
        const answered = await human.answer({ kind: 'permission', id: 'per_1', reply: 'always' })
        expect(answered.ok ? undefined : answered.error.code).toBe('sandbox_unavailable')
        expect(human.view().permissions).toHaveLength(1)
      },
      { agent: false },
    )
  })

  it('ends a request the agent forgot as lost, and keeps one it could not be told about', async () => {
    await withRequests('human-forgotten', async ({ human, agent, signals }) => {
      human.asked('question', 'que_1', question)
      agent.answerStatus = 500
      const failed = await human.answer({ kind: 'question', id: 'que_1', reject: true })
      expect(failed.ok ? undefined : failed.error.code).toBe('agent_unreachable')
      expect(human.view().questions).toHaveLength(1)
      agent.answerStatus = 404
      const forgotten = await human.answer({ kind: 'question', id: 'que_1', reject: true })
      expect(forgotten.ok ? undefined : forgotten.error).toEqual({ code: 'not_found', message: 'the agent no longer waits for this question' })
      expect(signals.of('question.resolved')).toEqual([{ questionId: 'que_1', rejected: true, reason: 'lost' }])
    })
  })

  it('after a bare reject, ends the requests opencode rejected with it', async () => {
    await withRequests('human-reject', async ({ human, agent, signals }) => {
      human.asked('permission', 'per_1', permission)
      human.asked('permission', 'per_2', { ...permission, permissionId: 'per_2' })
      agent.open = { permission: [], question: [] }
      await human.answer({ kind: 'permission', id: 'per_1', reply: 'reject' })
      expect(signals.of('permission.resolved')).toEqual([
        { permissionId: 'per_1', reply: 'reject' },
        { permissionId: 'per_2', reply: 'reject', reason: 'rejected with another request' },
      ])
    })
  })

  it("catches up with opencode's list: missed requests are announced, other sessions' ignored", async () => {
    await withRequests('human-sync', async ({ human, agent, announced, signals }) => {
      human.asked('permission', 'per_gone', { ...permission, permissionId: 'per_gone' })
      agent.open = { permission: [permissionRequest('per_new'), permissionRequest('per_other', 'ses_someone_else')], question: [] }
      await human.sync('lost')
      expect(announced.map((ev) => [ev.type, (ev.properties as { id: string }).id])).toEqual([['permission.asked', 'per_new']])
      expect(signals.of('permission.resolved')).toEqual([{ permissionId: 'per_gone', reply: 'reject', reason: 'lost' }])
    })
  })

  it('rejects what nobody answered in time, telling clients why and then the agent', async () => {
    await withRequests(
      'human-expire',
      async ({ human, agent, signals }) => {
        human.asked('permission', 'per_1', permission)
        human.asked('question', 'que_1', question)
        await human.expire(Date.now())
        expect(signals.of('permission.resolved')).toEqual([{ permissionId: 'per_1', reply: 'reject', reason: 'timeout' }])
        expect(signals.of('question.resolved')).toEqual([{ questionId: 'que_1', rejected: true, reason: 'timeout' }])
        expect(agent.answers.map((a) => [a.kind, a.id, 'reply' in a ? a.reply : 'reject' in a])).toEqual([
          ['permission', 'per_1', 'reject'],
          ['question', 'que_1', true],
        ])
      },
      { deadline: Date.now() - 1 },
    )
  })
})
