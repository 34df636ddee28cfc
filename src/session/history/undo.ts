import { event } from '../../contracts'
import { fail, ok, type Outcome } from '../../lib/errors'
import type { OpencodeAgent } from '../../opencode/agent'
import type { Conversation } from '../turns/conversation'
import type { Activity, SessionSignals } from '../ports'
import { quietFor } from '../activity'
import type { MessageQueue } from '../turns/queue'
import type { SessionStore } from '../store/session-store'

export type HistoryParts = {
  store: SessionStore
  queue: MessageQueue
  conversation: Conversation
  signals: SessionSignals
  /** a turn runs or messages wait: the past cannot be changed under them */
  activity: Activity
  connection: { opencode(): OpencodeAgent | undefined }
}

const noAgent = () => fail('sandbox_unavailable', 'the session has no running agent')

/**
 * Undo: the conversation and the workspace go back to before one of the user's messages, through
 * opencode's revert (which restores files from its own snapshots of the workspace's git tree),
 * and can come back with unrevert until a new message is sent, which makes the undo final.
 */
export class History {
  constructor(private readonly p: HistoryParts) {}

  async revert(messageId: string): Promise<Outcome<{ messageId: string }>> {
    const { store, queue, conversation, signals } = this.p
    const ready = this.check()
    if (!ready.ok) return ready
    const message = queue.byId(messageId)
    if (!message) return fail('not_found', 'no such user message in this session')
    if (!message.agent_message_id) return fail('conflict', 'this message never reached the agent, so there is nothing to undo')
    const turn = conversation.turnOf(messageId) ?? message.pos
    if (copiedInFork(store.spec().forkedTurn, turn)) {
      return fail(
        'conflict',
        "this message was copied from the session this one was forked from: opencode's records of its file changes name that session's workspace, so it cannot be undone here; undo it in the original and fork again, or undo a message sent after the fork",
      )
    }
    const agent = this.p.connection.opencode()
    if (!agent) return noAgent()
    const status = await agent.revert(message.agent_message_id)
    if (status === 404) return fail('conflict', 'the agent no longer knows this message')
    if (status >= 400) return fail('agent_unreachable', `opencode refused the undo (${status})`)
    store.update({ revert: JSON.stringify({ messageId, agentMessageId: message.agent_message_id }) })
    conversation.revertFrom(turn)
    signals.emit(event('session.reverted', { messageId }))
    return ok({ messageId })
  }

  async unrevert(): Promise<Outcome<{ unreverted: true }>> {
    const { store, conversation, signals } = this.p
    const ready = this.check()
    if (!ready.ok) return ready
    if (!store.revert()) return fail('conflict', 'there is no undo to take back')
    const agent = this.p.connection.opencode()
    if (!agent) return noAgent()
    const status = await agent.unrevert()
    if (status >= 400) return fail('agent_unreachable', `opencode refused to take the undo back (${status})`)
    store.update({ revert: null })
    conversation.revertFrom(undefined)
    signals.emit(event('session.unreverted', {}))
    return ok({ unreverted: true })
  }

  /** A new message (already filed, so not among them) makes an undo final: opencode drops the reverted messages when it is prompted. */
  settle() {
    if (!this.p.store.revert()) return
    this.p.conversation.dropReverted()
    this.p.store.update({ revert: null })
  }

  private check(): Outcome<void> {
    return quietFor('undo', this.p.activity, this.p.store)
  }
}

/** Whether a message at `turn` came with a fork's copy (turns up to `forkedTurn`), which opencode cannot undo in the copy. */
export function copiedInFork(forkedTurn: number | undefined, turn: number): boolean {
  return forkedTurn !== undefined && turn <= forkedTurn
}
