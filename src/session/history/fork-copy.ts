import { event, type AttachmentInfo, type PublicEvent, type SessionSpec } from '../../contracts'
import type { ForkPoint } from '../checkpoints/rules'

/** Pure decisions of a fork (see ./fork): what it keeps of the conversation, and under which ids. */

/** A message of the queue as a fork takes it over (idempotency keys stay with the original). */
export type ForkedQueueRow = {
  pos: number
  id: string
  text: string
  model: string | null
  agent: string | null
  state: string
  created_at: string
  outcome: string | null
  agent_message_id: string | null
  steer: number
  /** its place in the conversation */
  turn: number
}

/** A message of the conversation as a fork takes it over. */
export type ForkedMessage = { id: string; turn: number; role: string; text: string; parts: string; created_at: string }

export type ForkHistory = { queue: ForkedQueueRow[]; messages: ForkedMessage[] }

/** What a session hands the new session forked from it; its secrets stay sealed. */
export type ForkInput = {
  id: string
  tenant: string
  title: string | null
  spec: SessionSpec
  secrets: string | null
  /** the original's sandbox, to be copied; none when it has none (hibernated), and the fork starts from `checkpoint` alone */
  sandboxId?: string
  /** the original's opencode session, found again in the copy */
  agentSessionId?: string
  /** opencode's id of the first message the copy leaves out; none: it keeps all */
  cut?: string
  history: ForkHistory
  /** forked from a checkpoint: the copy's workspace becomes what it held */
  checkpoint?: ForkPoint
}

/**
 * Which of the conversation's turns a fork keeps: those up to the turn of `messageId` (a user
 * message or a reply), every one without it. `undefined` when the message is not in the
 * conversation as it stands (an undone one is not).
 */
export function lastKeptTurn(messages: { id: string; turn: number }[], messageId: string | undefined): number | undefined {
  if (messageId === undefined) return messages.reduce((max, m) => Math.max(max, m.turn), 0)
  return messages.find((m) => m.id === messageId)?.turn
}

/** opencode's id of the first user message after the kept turns: its fork copies the messages before it. */
export function agentCut(queue: { turn: number; agent_message_id: string | null }[], lastTurn: number): string | undefined {
  return queue.filter((q) => q.turn > lastTurn && q.agent_message_id !== null).sort((a, b) => a.turn - b.turn)[0]?.agent_message_id ?? undefined
}

/**
 * opencode's fork copies the messages of its original in the order it lists them, up to the one
 * named (all when it is not among them), each under a new ascending id: each copied message of
 * the original paired with its copy.
 */
export function pairIds(original: string[], cut: string | undefined, copy: string[]): Map<string, string> {
  const at = cut === undefined ? -1 : original.indexOf(cut)
  const kept = at < 0 ? original : original.slice(0, at)
  const copies = [...copy].sort()
  return new Map(copies.map((id, i) => [kept[i]!, id]))
}

/**
 * The history under the copy's ids: user messages keep their public ids and learn their copy's
 * opencode id; replies, known by opencode's ids, take their copy's. A message opencode did not
 * copy keeps no opencode id.
 */
export function remapHistory(history: ForkHistory, ids: Map<string, string>): ForkHistory {
  return {
    queue: history.queue.map((q) => ({ ...q, agent_message_id: (q.agent_message_id && ids.get(q.agent_message_id)) ?? null })),
    messages: history.messages.map((m) => (m.role === 'assistant' ? { ...m, id: ids.get(m.id) ?? m.id } : m)),
  }
}

/**
 * The kept conversation as a fork's own events, in order, so that its stream replays the
 * conversation it starts with as any other session's does: each message created then completed,
 * a reply naming the user message of its turn.
 */
export function historyEvents(messages: ForkedMessage[]): PublicEvent[] {
  const users = new Map(messages.filter((m) => m.role === 'user').map((m) => [m.turn, m.id]))
  return messages.flatMap((m) => {
    if (m.role === 'user') {
      const files = (JSON.parse(m.parts) as { type?: string; filename?: string; mime?: string; size?: number }[]).filter((p) => p.type === 'file')
      const attachments = files.map(({ filename, mime, size }) => ({ filename, mime, size }) as AttachmentInfo)
      return [
        event('message.created', { messageId: m.id, role: 'user', text: m.text, ...(attachments.length > 0 && { attachments }) }),
        event('message.completed', { messageId: m.id, role: 'user', text: m.text }),
      ]
    }
    const parentId = users.get(m.turn)
    return [
      event('message.created', { messageId: m.id, role: 'assistant', ...(parentId && { parentId }) }),
      event('message.completed', { messageId: m.id, role: 'assistant', text: m.text, ...(parentId && { parentId }) }),
    ]
  })
}
