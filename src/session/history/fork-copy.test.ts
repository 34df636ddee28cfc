import { describe, expect, it } from 'vitest'
import { agentCut, historyEvents, lastKeptTurn, pairIds, remapHistory, type ForkHistory } from './fork-copy'

const messages = [
  { id: 'u1', turn: 1 },
  { id: 'msg_a1', turn: 1 },
  { id: 'u2', turn: 2 },
  { id: 'msg_a2', turn: 2 },
]

describe('where a fork cuts the conversation', () => {
  it('keeps the turn of the named message, user or reply, and every turn without one', () => {
    expect(lastKeptTurn(messages, 'u1')).toBe(1)
    expect(lastKeptTurn(messages, 'msg_a1')).toBe(1)
    expect(lastKeptTurn(messages, 'u2')).toBe(2)
    expect(lastKeptTurn(messages, undefined)).toBe(2)
    expect(lastKeptTurn([], undefined)).toBe(0)
    expect(lastKeptTurn(messages, 'u9')).toBeUndefined()
  })

  it("cuts opencode's copy before the next user message that reached it", () => {
    const queue = [
      { turn: 1, agent_message_id: 'msg_u1' },
      { turn: 2, agent_message_id: null },
      { turn: 3, agent_message_id: 'msg_u3' },
    ]
    expect(agentCut(queue, 1)).toBe('msg_u3')
    expect(agentCut(queue, 3)).toBeUndefined()
    expect(agentCut([...queue].reverse(), 0)).toBe('msg_u1')
  })
})

describe("the fork's history under opencode's new ids", () => {
  it("pairs messages in order and renames replies and user messages' opencode ids, public ids kept", () => {
    expect([...pairIds(['msg_1', 'msg_2', 'msg_3', 'msg_4'], 'msg_3', ['msg_9', 'msg_8'])]).toEqual([
      ['msg_1', 'msg_8'],
      ['msg_2', 'msg_9'],
    ])
    // A cut opencode does not know copies everything, as opencode does.
    const ids = pairIds(['msg_1', 'msg_2', 'msg_3'], 'msg_gone', ['msg_9', 'msg_7', 'msg_8'])
    expect([...ids]).toEqual([
      ['msg_1', 'msg_7'],
      ['msg_2', 'msg_8'],
      ['msg_3', 'msg_9'],
    ])
    const row = { text: 'hi', model: null, agent: null, state: 'done', created_at: 't', outcome: null, steer: 0 }
    const history: ForkHistory = {
      queue: [
        { ...row, pos: 1, turn: 1, id: 'u1', agent_message_id: 'msg_1' },
        { ...row, pos: 2, turn: 2, id: 'u2', agent_message_id: null },
        { ...row, pos: 3, turn: 3, id: 'u3', agent_message_id: 'msg_gone' },
      ],
      messages: [
        { id: 'u1', turn: 1, role: 'user', text: 'hi', parts: '[]', created_at: 't' },
        { id: 'msg_2', turn: 1, role: 'assistant', text: 'hello', parts: '[]', created_at: 't' },
      ],
    }
    const mapped = remapHistory(history, ids)
    expect(mapped.queue.map((q) => [q.id, q.agent_message_id])).toEqual([
      ['u1', 'msg_7'],
      ['u2', null],
      ['u3', null],
    ])
    expect(mapped.messages.map((m) => m.id)).toEqual(['u1', 'msg_8'])
  })
})

describe("the fork's conversation as its own events", () => {
  it('announces each kept message, created then completed, replies naming their turn\'s user message, files by name only', () => {
    const events = historyEvents([
      { id: 'u1', turn: 1, role: 'user', text: 'hi', parts: JSON.stringify([{ type: 'text', text: 'hi' }, { type: 'file', filename: 'a.png', mime: 'image/png', size: 3 }]), created_at: 't' },
      { id: 'a1', turn: 1, role: 'assistant', text: 'hello', parts: '[]', created_at: 't' },
    ])
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['message.created', { messageId: 'u1', role: 'user', text: 'hi', attachments: [{ filename: 'a.png', mime: 'image/png', size: 3 }] }],
      ['message.completed', { messageId: 'u1', role: 'user', text: 'hi' }],
      ['message.created', { messageId: 'a1', role: 'assistant', parentId: 'u1' }],
      ['message.completed', { messageId: 'a1', role: 'assistant', text: 'hello', parentId: 'u1' }],
    ])
  })
})
