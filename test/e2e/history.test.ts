import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, EventStream, isReplyTo, newIdleSession, scripted, sendMessage, streamFromNow, waitForStatus, type Json, type SseEvent } from './helpers'

/** Sends a message and waits for its turn to end; answers the public message id. */
async function turn(id: string, text: string): Promise<string> {
  const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text } })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  await waitForStatus(id, 'idle')
  return res.body.messageId as string
}

const fileOf = async (id: string, path: string) => (await api(`/v1/sessions/${id}/files?path=${path}`)).body.content as string | undefined
const userIds = async (id: string) =>
  ((await api(`/v1/sessions/${id}/messages`)).body as unknown as Json[]).filter((m) => m.role === 'user').map((m) => m.id as string)

describe("the agent's todo list and sub-agents", () => {
  let id: string
  let stream: EventStream

  beforeAll(async () => {
    id = await newIdleSession({ title: 'todos and sub-agents', permissions: { '*': 'allow' } })
    stream = await streamFromNow(id)
  })

  afterAll(async () => {
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('announces todos, keeps the list on the session, and streams a sub-agent tagged with its task call', async () => {
    const todos = [
      { content: 'look around', status: 'in_progress', priority: 'high' },
      { content: 'report', status: 'pending', priority: 'low' },
    ]
    const messageId = await sendMessage(
      id,
      scripted({
        steps: [
          { tool: { name: 'todowrite', args: { todos } } },
          { tool: { name: 'task', args: { description: 'look around', prompt: 'please look around the workspace', subagent_type: 'general' } } },
          { text: 'all done' },
        ],
      }),
    )
    const reply = await stream.until(isReplyTo(messageId))
    expect(reply.data.text).toBe('all done')

    const todo = stream.events.find((e) => e.event === 'todo.updated')
    expect(todo?.data.items).toEqual(todos.map((t, i) => ({ id: String(i + 1), ...t })))
    expect((await api(`/v1/sessions/${id}`)).body.todos).toEqual(todo?.data.items)

    const task = stream.events.find((e) => e.event === 'tool.updated' && e.data.tool === 'task' && e.data.state === 'completed')
    expect(task?.data.subagent).toBeUndefined()
    const fromSub = (e: SseEvent) => e.data.subagent !== undefined
    const subCompleted = stream.events.find((e) => e.event === 'message.completed' && fromSub(e))
    expect(subCompleted?.data.subagent).toEqual({ sessionId: expect.any(String), callId: task?.data.callId, agent: 'general' })
    // The offline model echoes what the sub-agent was asked: its text came through the parent's stream.
    expect(subCompleted?.data.text).toContain('please look around the workspace')
    const subDeltas = stream.events.filter((e) => e.event === 'message.delta' && e.data.messageId === subCompleted?.data.messageId)
    expect(subDeltas.length).toBeGreaterThan(0)
    expect(subDeltas.every(fromSub)).toBe(true)
    expect(stream.events.find((e) => e.event === 'message.created' && e.data.messageId === subCompleted?.data.messageId)?.data.subagent).toEqual(
      subCompleted?.data.subagent,
    )

    // The conversation is the session's own: the sub-agent's reply is in the task tool's output, not a message.
    const messages = (await api(`/v1/sessions/${id}/messages`)).body as unknown as Json[]
    expect(messages.map((m) => m.id)).not.toContain(subCompleted?.data.messageId)
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', text: 'all done' })
  })
})

describe('undo', () => {
  let id: string

  beforeAll(async () => {
    id = await newIdleSession({ title: 'undo', permissions: { '*': 'allow' } })
  })

  afterAll(async () => {
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('takes the conversation and the files back to before a message, brings them back, and makes it final with a new message', async () => {
    const write = (content: string, reply: string) =>
      scripted({ steps: [{ tool: { name: 'write', args: { filePath: 'notes.txt', content } } }, { text: reply }] })
    const first = await turn(id, write('one\n', 'wrote one'))
    const second = await turn(id, write('two\n', 'wrote two'))
    expect(await fileOf(id, 'notes.txt')).toBe('two\n')
    const stream = await streamFromNow(id)

    const reverted = await api(`/v1/sessions/${id}/revert`, { body: { messageId: second } })
    expect(reverted.status, JSON.stringify(reverted.body)).toBe(200)
    expect(reverted.body.revert).toBe(second)
    expect(await fileOf(id, 'notes.txt')).toBe('one\n')
    expect(await userIds(id)).toEqual([first])
    const messages = (await api(`/v1/sessions/${id}/messages`)).body as unknown as Json[]
    expect(messages.map((m) => m.text)).not.toContain('wrote two')
    await stream.until((e) => e.event === 'session.reverted' && e.data.messageId === second)

    const back = await api(`/v1/sessions/${id}/unrevert`, { method: 'POST' })
    expect(back.status, JSON.stringify(back.body)).toBe(200)
    expect(back.body.revert).toBeNull()
    expect(await fileOf(id, 'notes.txt')).toBe('two\n')
    expect(await userIds(id)).toEqual([first, second])
    await stream.until((e) => e.event === 'session.unreverted')
    expect((await api(`/v1/sessions/${id}/unrevert`, { method: 'POST' })).status).toBe(409)

    // Undo everything, then a new message: the undo is final.
    expect((await api(`/v1/sessions/${id}/revert`, { body: { messageId: first } })).status).toBe(200)
    expect(await fileOf(id, 'notes.txt')).toBeUndefined()
    expect(await userIds(id)).toEqual([])
    const slow = await sendMessage(id, scripted({ reply: 'a new start, slowly', delayMs: 300 }))
    // Nothing can be undone while a turn runs.
    const busy = await api(`/v1/sessions/${id}/revert`, { body: { messageId: slow } })
    expect(busy.status).toBe(409)
    expect(busy.body.error.code).toBe('conflict')
    await stream.until(isReplyTo(slow))
    await waitForStatus(id, 'idle')
    expect((await api(`/v1/sessions/${id}/unrevert`, { method: 'POST' })).status).toBe(409)
    expect(await userIds(id)).toEqual([slow])
    expect(await fileOf(id, 'notes.txt')).toBeUndefined()
    await stream.close()

    expect((await api(`/v1/sessions/${id}/revert`, { body: { messageId: 'msg_unknown' } })).status).toBe(404)
    expect((await api(`/v1/sessions/${id}/revert`, { body: {} })).status).toBe(400)
  })
})
