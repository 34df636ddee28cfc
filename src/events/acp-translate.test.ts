import { describe, expect, it } from 'vitest'
import { AcpTranslator } from './acp-translate'

const ids = () => {
  let n = 0
  return (prefix: string) => `${prefix}_${++n}`
}

describe('AcpTranslator', () => {
  it('streams text and thoughts as deltas of one reply to the user message, completed when the prompt ends', () => {
    const t = new AcpTranslator(ids())
    t.prompting('msg_user')
    const events = [
      ...t.translate({ sessionUpdate: 'agent_thought_chunk', content: { type: 'text', text: 'hmm' } }),
      ...t.translate({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: '' } }),
      ...t.translate({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'hello ' } }),
      ...t.translate({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'world' } }),
      ...t.finish('end_turn'),
    ]
    expect(events.map((e) => e.type)).toEqual(['message.created', 'message.delta', 'message.delta', 'message.delta', 'message.completed'])
    expect(events[0]!.data).toEqual({ messageId: 'msg_1', role: 'assistant', parentId: 'msg_user' })
    expect(events[1]!.data).toEqual({ messageId: 'msg_1', partId: 'prt_2', kind: 'reasoning', text: 'hmm' })
    expect(events[2]!.data).toMatchObject({ partId: 'prt_3', kind: 'text', text: 'hello ' })
    expect(events[4]!.data).toEqual({ messageId: 'msg_1', role: 'assistant', text: 'hello world', parentId: 'msg_user', usage: { inputTokens: 0, outputTokens: 0, cost: 0 } })
  })

  it('follows a tool call through its updates, by the agent’s tool name, and asks permission for it', () => {
    const t = new AcpTranslator(ids())
    t.prompting('msg_user')
    const meta = { claudeCode: { toolName: 'Bash' } }
    const started = t.translate({ sessionUpdate: 'tool_call', toolCallId: 'toolu_1', title: '`ls`', kind: 'execute', status: 'pending', rawInput: { command: 'ls' }, _meta: meta })
    expect(started.map((e) => e.type)).toEqual(['message.created', 'tool.updated'])
    expect(started[1]!.data).toEqual({ messageId: 'msg_1', callId: 'toolu_1', tool: 'Bash', state: 'pending', title: '`ls`', input: { command: 'ls' } })
    expect(t.permission({ sessionId: 's', toolCall: { toolCallId: 'toolu_1', title: '`ls`' }, options: [{ kind: 'allow_once', name: 'Allow', optionId: 'allow' }] }, 'per_1')).toEqual([
      { type: 'permission.requested', data: { permissionId: 'per_1', permission: 'Bash', patterns: ['`ls`'], metadata: { callId: 'toolu_1', input: { command: 'ls' }, options: ['allow_once'] } } },
    ])
    // Claude Code's status-less update carrying its own tool response says nothing new
    expect(t.translate({ sessionUpdate: 'tool_call_update', toolCallId: 'toolu_1', _meta: { claudeCode: { toolResponse: {} } } })).toEqual([])
    const done = t.translate({ sessionUpdate: 'tool_call_update', toolCallId: 'toolu_1', status: 'completed', content: [{ type: 'content', content: { type: 'text', text: 'a.txt' } }] })
    expect(done).toEqual([{ type: 'tool.updated', data: { messageId: 'msg_1', callId: 'toolu_1', tool: 'Bash', state: 'completed', title: '`ls`', input: { command: 'ls' }, output: 'a.txt' } }])
  })

  it('announces a plan as the todo list, and ends an aborted turn with its open tools failed', () => {
    const t = new AcpTranslator(ids())
    t.prompting('msg_user')
    expect(t.translate({ sessionUpdate: 'plan', entries: [{ content: 'write tests', status: 'in_progress', priority: 'high' }] })).toEqual([
      { type: 'todo.updated', data: { items: [{ id: '1', content: 'write tests', status: 'in_progress', priority: 'high' }] } },
    ])
    t.translate({ sessionUpdate: 'tool_call', toolCallId: 'toolu_1', title: 'Edit', status: 'in_progress' })
    const end = t.finish('cancelled')
    expect(end.map((e) => [e.type, 'state' in e.data ? e.data.state : undefined])).toEqual([['tool.updated', 'error'], ['message.completed', undefined]])
    expect(end[1]!.data).toMatchObject({ error: { code: 'aborted' } })
  })

  it('says nothing of updates outside a turn (a session/load replaying the conversation), nor twice of a finished one', () => {
    const t = new AcpTranslator(ids())
    expect(t.translate({ sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'old' } })).toEqual([])
    expect(t.finish('end_turn')).toEqual([])
    t.prompting('msg_user')
    expect(t.finish('end_turn').map((e) => e.type)).toEqual(['message.created', 'message.completed'])
    expect(t.finish('end_turn')).toEqual([])
  })
})
