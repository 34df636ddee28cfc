import type { Event as AgentEvent, Part, Todo } from '@opencode-ai/sdk/v2/client'

type SnapshotMessage = { info: Extract<AgentEvent, { type: 'message.updated' }>['properties']['info']; parts: Part[] }

/**
 * opencode's own record of a session, as the events that would have produced it. Fed to a
 * translator after a gap in the stream, it yields exactly the public events clients missed.
 */
export function snapshotEvents(sessionID: string, messages: SnapshotMessage[]): AgentEvent[] {
  return messages.flatMap(({ info, parts }) => {
    const partEvents = parts.map((part) => ({ id: 'snapshot', type: 'message.part.updated', properties: { sessionID, part, time: 0 } }))
    const created = { ...info, time: { ...info.time, completed: undefined } }
    const events: unknown[] = [
      { id: 'snapshot', type: 'message.updated', properties: { sessionID, info: created } },
      ...partEvents,
      { id: 'snapshot', type: 'message.updated', properties: { sessionID, info } },
    ]
    return events as AgentEvent[]
  })
}

/** opencode's todo list as the event that would have announced it. */
export function todoSnapshot(sessionID: string, todos: Todo[] | undefined): AgentEvent[] {
  return todos ? [{ id: 'snapshot', type: 'todo.updated', properties: { sessionID, todos } } as AgentEvent] : []
}
