import type { Event as AgentEvent } from '@opencode-ai/sdk/v2/client'
import { describe, expect, it } from 'vitest'
import type { PublicEvent } from '../contracts'
import { MAX_COALESCED_TEXT } from './coalesce'
import { snapshotEvents } from './catch-up'
import { capText, MAX_MESSAGE_TEXT, MAX_TOOL_TEXT, todoItems } from './agent-values'
import { AgentEventTranslator } from './translate'

const ROOT = 'ses_root'
const ev = (type: string, properties: Record<string, unknown>) => ({ id: 'evt', type, properties }) as unknown as AgentEvent

const assistant = (id: string, extra: Record<string, unknown> = {}) =>
  ev('message.updated', {
    sessionID: ROOT,
    info: {
      id,
      sessionID: ROOT,
      role: 'assistant',
      parentID: 'oc_user',
      time: { created: 1 },
      tokens: { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } },
      cost: 0.25,
      ...extra,
    },
  })
const user = (id: string) => ev('message.updated', { sessionID: ROOT, info: { id, sessionID: ROOT, role: 'user', time: { created: 1 } } })
const textPart = (messageID: string, id: string, text: string, type = 'text') =>
  ev('message.part.updated', { sessionID: ROOT, part: { id, messageID, sessionID: ROOT, type, text } })
const delta = (messageID: string, partID: string, d: string) =>
  ev('message.part.delta', { sessionID: ROOT, messageID, partID, field: 'text', delta: d })

function translator() {
  const t = new AgentEventTranslator(ROOT, '/work/space')
  t.pendingUserMessageId = 'msg_public'
  return t
}

describe('AgentEventTranslator', () => {
  it('streams a reply and completes it once, under the public id of the user message', () => {
    const t = translator()
    const out = [
      user('oc_user'),
      assistant('a1'),
      textPart('a1', 'p1', ''),
      delta('a1', 'p1', 'Hel'),
      delta('a1', 'p1', 'lo'),
      textPart('a1', 'p1', 'Hello'),
      assistant('a1', { time: { created: 1, completed: 2 } }),
      assistant('a1', { time: { created: 1, completed: 2 } }),
    ].flatMap((e) => t.translate(e))
    expect(out).toEqual([
      { type: 'message.created', data: { messageId: 'a1', role: 'assistant', parentId: 'msg_public' } },
      { type: 'message.delta', data: { messageId: 'a1', partId: 'p1', kind: 'text', text: 'Hel' } },
      { type: 'message.delta', data: { messageId: 'a1', partId: 'p1', kind: 'text', text: 'lo' } },
      {
        type: 'message.completed',
        data: {
          messageId: 'a1',
          role: 'assistant',
          text: 'Hello',
          parentId: 'msg_public',
          usage: { inputTokens: 10, outputTokens: 5, cost: 0.25 },
        },
      },
    ])
  })

  it("completes a message with its structured answer, unless it is too big to store", () => {
    const t = translator()
    t.translate(assistant('a1'))
    const done = t.translate(assistant('a1', { time: { created: 1, completed: 2 }, structured: { answer: 42 } }))
    expect(done[0]).toMatchObject({ type: 'message.completed', data: { text: '', structured: { answer: 42 } } })
    t.translate(assistant('a2'))
    const big = t.translate(assistant('a2', { time: { created: 1, completed: 2 }, structured: { text: 'x'.repeat(MAX_MESSAGE_TEXT) } }))
    expect(big[0]).toMatchObject({ type: 'message.completed', data: { messageId: 'a2' } })
    expect(big[0]!.data).not.toHaveProperty('structured')
  })

  it('streams the missing tail of a part written without deltas', () => {
    const t = translator()
    t.translate(assistant('a1'))
    t.translate(delta('a1', 'p1', 'abc'))
    expect(t.translate(textPart('a1', 'p1', 'abcdef'))).toEqual([
      { type: 'message.delta', data: { messageId: 'a1', partId: 'p1', kind: 'text', text: 'def' } },
    ])
    expect(t.translate(textPart('a1', 'p1', 'abcdef'))).toEqual([])
  })

  it('streams a part written whole, or a delta, of megabytes in pieces no event row is too small for', () => {
    const t = translator()
    t.translate(assistant('a1'))
    const whole = '長'.repeat(MAX_COALESCED_TEXT * 10 + 5)
    const texts = (events: PublicEvent[]) => events.map((e) => (e.type === 'message.delta' ? e.data.text : ''))
    const written = texts(t.translate(textPart('a1', 'p1', whole)))
    expect(written).toHaveLength(11)
    expect(written.join('')).toBe(whole)
    const streamed = texts(t.translate(delta('a1', 'p2', whole)))
    expect(streamed).toEqual(written)
  })

  it('labels reasoning deltas and leaves reasoning out of the completed text', () => {
    const t = translator()
    t.translate(assistant('a1'))
    t.translate(textPart('a1', 'r1', '', 'reasoning'))
    expect(t.translate(delta('a1', 'r1', 'thinking'))[0]).toMatchObject({ data: { kind: 'reasoning' } })
    t.translate(textPart('a1', 't1', 'answer'))
    const done = t.translate(assistant('a1', { time: { created: 1, completed: 2 } }))
    expect(done[0]).toMatchObject({ type: 'message.completed', data: { text: 'answer' } })
  })

  it('reports tool calls on each change of state, with capped output', () => {
    const t = translator()
    t.translate(assistant('a1'))
    const tool = (state: Record<string, unknown>) =>
      ev('message.part.updated', {
        sessionID: ROOT,
        part: { id: 't1', messageID: 'a1', sessionID: ROOT, type: 'tool', callID: 'c1', tool: 'bash', state },
      })
    expect(t.translate(tool({ status: 'pending', input: {}, raw: '' }))).toHaveLength(1)
    expect(t.translate(tool({ status: 'pending', input: {}, raw: '' }))).toHaveLength(0)
    expect(t.translate(tool({ status: 'running', input: { command: 'ls' }, title: 'ls', time: { start: 1 } }))[0]).toEqual({
      type: 'tool.updated',
      data: { messageId: 'a1', callId: 'c1', tool: 'bash', state: 'running', title: 'ls', input: { command: 'ls' } },
    })
    // README, Events: tool inputs and outputs are capped at 32 KiB.
    expect(MAX_TOOL_TEXT).toBe(32 * 1024)
    expect(capText('x'.repeat(32 * 1024))).toBe('x'.repeat(32 * 1024))
    expect(capText('x'.repeat(32 * 1024 + 1))).not.toBe('x'.repeat(32 * 1024 + 1))
    const big = 'x'.repeat(MAX_TOOL_TEXT + 10)
    const [done] = t.translate(
      tool({ status: 'completed', input: { command: 'ls' }, output: big, title: 'ls', metadata: {}, time: { start: 1, end: 2 } }),
    )
    expect(done).toMatchObject({ data: { state: 'completed', output: capText(big) } })
    expect(t.partsOf('a1')).toEqual([{ type: 'tool', tool: 'bash', callId: 'c1', state: 'completed', title: 'ls' }])
  })

  it('ignores other sessions but follows sub-sessions for permissions and questions', () => {
    const t = translator()
    const other = ev('permission.asked', { id: 'per1', sessionID: 'ses_other', permission: 'bash', patterns: [], metadata: {}, always: [] })
    expect(t.concerns(other)).toBe(false)
    expect(t.translate(other)).toEqual([])
    t.translate(ev('session.created', { sessionID: 'ses_child', info: { id: 'ses_child', parentID: ROOT } }))
    const child = ev('permission.asked', { id: 'per2', sessionID: 'ses_child', permission: 'bash', patterns: ['ls'], metadata: {}, always: [] })
    expect(t.translate(child)).toEqual([
      { type: 'permission.requested', data: { permissionId: 'per2', permission: 'bash', patterns: ['ls'], metadata: {} } },
    ])
    // A child session no task call has claimed is no sub-agent's: its text is not shown.
    expect(t.translate(ev('message.part.delta', { sessionID: 'ses_child', messageID: 'x', partID: 'y', field: 'text', delta: 'z' }))).toEqual([])
  })

  it("streams a sub-agent's messages and tools tagged with the task call that started it", () => {
    const t = translator()
    const CHILD = 'ses_child'
    const task = (status: string, metadata?: Record<string, unknown>) =>
      ev('message.part.updated', {
        sessionID: ROOT,
        part: {
          id: 'tp',
          messageID: 'a1',
          sessionID: ROOT,
          type: 'tool',
          callID: 'call_task',
          tool: 'task',
          state: { status, input: { description: 'look', prompt: 'look around', subagent_type: 'explore' }, ...(metadata && { metadata, title: 'look', time: { start: 1 } }) },
        },
      })
    t.translate(assistant('a1'))
    t.translate(task('pending'))
    const created = ev('session.created', { sessionID: CHILD, info: { id: CHILD, parentID: ROOT } })
    expect(t.concerns(created)).toBe(true)
    t.translate(created)
    t.translate(task('running', { sessionId: CHILD, parentSessionId: ROOT }))
    const tag = { sessionId: CHILD, callId: 'call_task', agent: 'explore' }
    const inChild = (e: AgentEvent) => {
      ;(e.properties as { sessionID: string }).sessionID = CHILD
      const p = (e.properties as { info?: { sessionID: string; parentID?: string }; part?: { sessionID: string } })
      if (p.info) p.info.sessionID = CHILD
      if (p.info?.parentID) p.info.parentID = 'c_user'
      if (p.part) p.part.sessionID = CHILD
      return e
    }
    const out = [
      ev('message.updated', { sessionID: CHILD, info: { id: 'c_user', sessionID: CHILD, role: 'user', time: { created: 1 } } }),
      inChild(assistant('c1')),
      inChild(delta('c1', 'cp', 'found it')),
      inChild(ev('message.part.updated', { sessionID: CHILD, part: { id: 'ct', messageID: 'c1', sessionID: CHILD, type: 'tool', callID: 'call_read', tool: 'read', state: { status: 'pending', input: {}, raw: '' } } })),
      inChild(assistant('c1', { time: { created: 1, completed: 2 } })),
      inChild(ev('session.status', { sessionID: CHILD, status: { type: 'idle' } })),
    ].flatMap((e) => t.translate(e))
    expect(out).toEqual([
      { type: 'message.created', data: { messageId: 'c1', role: 'assistant', parentId: 'c_user', subagent: tag } },
      { type: 'message.delta', data: { messageId: 'c1', partId: 'cp', kind: 'text', text: 'found it', subagent: tag } },
      { type: 'tool.updated', data: { messageId: 'c1', callId: 'call_read', tool: 'read', state: 'pending', input: {}, subagent: tag } },
      {
        type: 'message.completed',
        data: { messageId: 'c1', role: 'assistant', text: 'found it', parentId: 'c_user', usage: { inputTokens: 10, outputTokens: 5, cost: 0.25 }, subagent: tag },
      },
    ])
    // The root's own next user message still gets its public id: the sub-agent's did not take it.
    t.translate(user('oc_user'))
    expect(t.agentIdOf('msg_public')).toBe('oc_user')
  })

  it("announces the root's todo list whole, each item known by its place", () => {
    const t = translator()
    const todos = [
      { content: 'read', status: 'completed', priority: 'high' },
      { content: 'write', status: 'in_progress', priority: 'low' },
    ]
    expect(t.translate(ev('todo.updated', { sessionID: ROOT, todos }))).toEqual([{ type: 'todo.updated', data: { items: todoItems(todos) } }])
    expect(todoItems(todos)[1]).toEqual({ id: '2', content: 'write', status: 'in_progress', priority: 'low' })
    // The same list again (a snapshot after a gap) is not news.
    expect(t.translate(ev('todo.updated', { sessionID: ROOT, todos }))).toEqual([])
    t.translate(ev('session.created', { sessionID: 'ses_child', info: { id: 'ses_child', parentID: ROOT } }))
    expect(t.translate(ev('todo.updated', { sessionID: 'ses_child', todos }))).toEqual([])
  })

  it('turns agent errors and file edits into public events', () => {
    const t = translator()
    expect(t.translate(ev('session.error', { sessionID: ROOT, error: { name: 'ProviderAuthError', data: { message: 'bad key' } } }))).toEqual([
      { type: 'error', data: { code: 'provider_auth', message: 'bad key' } },
    ])
    expect(t.translate(ev('session.error', { sessionID: ROOT, error: { name: 'MessageAbortedError', data: {} } }))[0]).toMatchObject({
      data: { code: 'aborted' },
    })
    // An error this version of opencode does not name: the one code for the agent's errors, the name kept for people.
    expect(t.translate(ev('session.error', { sessionID: ROOT, error: { name: 'QuotaError', data: { message: 'no more' } } }))).toEqual([
      { type: 'error', data: { code: 'agent_error', message: 'QuotaError: no more' } },
    ])
    expect(t.translate(ev('file.edited', { file: '/work/space/src/a.ts' }))).toEqual([
      { type: 'file.changed', data: { path: 'src/a.ts', change: 'edited' } },
    ])
  })
})

describe('memory', () => {
  const completed = (id: string) => assistant(id, { time: { created: 1, completed: 2 } })

  it('holds no text of completed messages, however many there are', () => {
    const t = translator()
    const reply = 'w'.repeat(10_000)
    for (let i = 0; i < 50; i++) {
      const id = `a${i}`
      t.translate(assistant(id))
      t.translate(delta(id, 'p', reply))
      expect(t.heldText).toBe(reply.length)
      expect(t.translate(completed(id))[0]).toMatchObject({ type: 'message.completed', data: { text: reply } })
      // What the session files in the conversation right at message.completed.
      expect(t.partsOf(id)).toEqual([{ type: 'text', text: reply }])
      // A late piece is not sent after the completed message, nor kept.
      expect(t.translate(delta(id, 'p', 'late'))).toEqual([])
      expect(t.translate(textPart(id, 'p', `${reply} and more`))).toEqual([])
      expect(t.heldText).toBe(0)
      expect(t.partsOf(id)).toEqual([])
    }
    // Still completed once only.
    expect(t.translate(completed('a0'))).toEqual([])
  })

  it('lets go of messages completed because the agent died, too', () => {
    const t = translator()
    for (const id of ['a1', 'a2']) {
      t.translate(assistant(id))
      t.translate(delta(id, 'p', 'half'))
    }
    expect(t.interruptOpen({ code: 'interrupted', message: 'gone' }).map((e) => e.data)).toMatchObject([{ text: 'half' }, { text: 'half' }])
    expect(t.partsOf('a2')).toEqual([{ type: 'text', text: 'half' }])
    t.translate(user('oc_next'))
    expect(t.heldText).toBe(0)
  })
})

describe('after a gap in the stream', () => {
  it('streams what the record adds, then only what a part’s full text adds, never twice', () => {
    const t = translator()
    t.translate(assistant('a1'))
    t.translate(delta('a1', 'p1', 'one '))
    // The gap: opencode wrote "two " and "three " meanwhile; its record has "one two ".
    const snapshot = snapshotEvents(ROOT, [
      {
        info: { id: 'a1', sessionID: ROOT, role: 'assistant', parentID: 'oc_user', time: { created: 1 }, tokens: { input: 1, output: 1, reasoning: 0, cache: { read: 0, write: 0 } }, cost: 0 } as never,
        parts: [{ id: 'p1', messageID: 'a1', sessionID: ROOT, type: 'text', text: 'one two ' }] as never,
      },
    ])
    expect(t.applySnapshot(snapshot).filter((e) => e.type === 'message.delta').map((e) => e.data)).toEqual([
      expect.objectContaining({ text: 'two ' }),
    ])
    // A held delta that may or may not be in the record cannot be placed: skipped.
    expect(t.translate(delta('a1', 'p1', 'three '))).toEqual([])
    expect(t.translate(textPart('a1', 'p1', 'one two three four'))).toEqual([
      { type: 'message.delta', data: { messageId: 'a1', partId: 'p1', kind: 'text', text: 'three four' } },
    ])
    const done = t.translate(assistant('a1', { time: { created: 1, completed: 2 } }))
    expect(done[0]).toMatchObject({ data: { text: 'one two three four' } })
    expect(t.applySnapshot(snapshot.concat(assistant('a1', { time: { created: 1, completed: 2 } })))).toEqual([])
  })

  it('picks up after a restart without completing or streaming anything twice', () => {
    const t = new AgentEventTranslator(ROOT, '/work/space')
    t.restore({
      completed: ['old'],
      streamed: [{ messageId: 'a2', partId: 'p2', kind: 'text', length: 3 }],
      userIds: new Map([['oc_user', 'msg_public']]),
    })
    expect(t.translate(assistant('old', { time: { created: 1, completed: 2 } }))).toEqual([])
    const out = t.translate(textPart('a2', 'p2', 'abcdef'))
    expect(out).toEqual([{ type: 'message.delta', data: { messageId: 'a2', partId: 'p2', kind: 'text', text: 'def' } }])
    expect(t.translate(assistant('a2', { time: { created: 1, completed: 2 } }))[0]).toMatchObject({
      data: { parentId: 'msg_public', text: 'abcdef' },
    })
  })

  it('goes on following a sub-agent at work after a restart, tagged as before', () => {
    const t = new AgentEventTranslator(ROOT, '/work/space')
    const tag = { sessionId: 'ses_child', callId: 'call_task', agent: 'explore' }
    t.restore({
      completed: ['c_done'],
      streamed: [{ messageId: 'c2', partId: 'cp', kind: 'text', length: 2, subagent: tag }],
      userIds: new Map(),
      subagents: [tag],
    })
    const child = (type: string, properties: Record<string, unknown>) => ev(type, { sessionID: 'ses_child', ...properties })
    expect(t.concerns(child('message.part.delta', {}))).toBe(true)
    expect(t.translate(child('message.part.delta', { messageID: 'c2', partID: 'cp', field: 'text', delta: 'cd' }))).toEqual([
      { type: 'message.delta', data: { messageId: 'c2', partId: 'cp', kind: 'text', text: 'cd', subagent: tag } },
    ])
    const completed = (id: string) =>
      child('message.updated', {
        info: { id, sessionID: 'ses_child', role: 'assistant', parentID: 'c_user', time: { created: 1, completed: 2 }, tokens: { input: 1, output: 1, reasoning: 0, cache: { read: 0, write: 0 } }, cost: 0 },
      })
    expect(t.translate(completed('c_done'))).toEqual([])
    expect(t.translate(completed('c2'))[0]).toMatchObject({ type: 'message.completed', data: { messageId: 'c2', subagent: tag } })
  })

  it('completes every open message with an error when the agent died', () => {
    const t = translator()
    t.translate(assistant('a1'))
    t.translate(delta('a1', 'p1', 'half'))
    expect(t.interruptOpen({ code: 'interrupted', message: 'gone' })).toEqual([
      {
        type: 'message.completed',
        data: { messageId: 'a1', role: 'assistant', text: 'half', parentId: 'oc_user', error: { code: 'interrupted', message: 'gone' } },
      },
    ])
    expect(t.interruptOpen({ code: 'interrupted', message: 'gone' })).toEqual([])
  })
})
