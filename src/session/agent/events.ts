import type { Event as AgentEvent } from '@opencode-ai/sdk/v2/client'
import { describeAgentError } from '../../events/agent-values'
import { AgentEventTranslator } from '../../events/translate'
import { zeroUsage, type PublicEvent, type Usage } from '../../contracts'
import type { Conversation } from '../turns/conversation'
import type { EventLog } from '../log/event-log'
import type { Fanout } from '../log/fanout'
import type { HumanRequests } from './human-requests'
import type { SessionSignals } from '../ports'
import type { MessageQueue } from '../turns/queue'
import type { SessionStore } from '../store/session-store'
import type { TurnError } from '../turns/rules'
import type { Turns } from '../turns/turns'
import type { Signals } from '../signals'

/** After a restart, text already streamed is looked up this far back in the log. */
const RESTORE_WINDOW = 20_000

export type AgentEventParts = {
  sql: SqlStorage
  log: EventLog
  fanout: Fanout
  store: SessionStore
  /** and the run, told of the agent's asks (a run with approvals asks where it started) */
  signals: SessionSignals & Pick<Signals, 'tellRun'>
  queue: MessageQueue
  conversation: Conversation
  human: HumanRequests
  turns: Turns
  /** an assistant message's usage (opencode's figure) was added to the session's: it goes beside the metered bill, and the spend to the tenant */
  spent(messageId: string, usage: Usage): void
}

/**
 * The agent's raw events on their way to clients: each is translated into public events, which
 * are logged and then kept track of (the conversation, usage, the running turn, open requests).
 */
export class AgentEvents {
  private translator: AgentEventTranslator | undefined

  constructor(private readonly p: AgentEventParts) {}

  /** The agent session this session follows, once there is one. */
  get following(): string | undefined {
    return this.translator?.rootSessionId
  }

  /**
   * Starts following an agent session. A session object that followed it before it restarted
   * must not complete again what clients saw completed, nor stream again text they already have.
   */
  follow(agentSessionId: string, workdir: string, restored: boolean) {
    const translator = new AgentEventTranslator(agentSessionId, workdir)
    translator.knowTitle(this.p.store.row.title)
    translator.knowTodos(this.p.store.row.todos)
    translator.onUserMessage = (agentId, publicId) => this.p.queue.setAgentMessageId(publicId, agentId)
    if (restored) {
      translator.restore({
        completed: [...this.p.conversation.assistantIds(), ...this.p.log.completedBySubagents(RESTORE_WINDOW)],
        streamed: this.p.log.streamed(RESTORE_WINDOW),
        userIds: this.p.queue.agentMessageIds(),
        subagents: this.p.log.subagents(RESTORE_WINDOW),
      })
    }
    this.translator = translator
  }

  forget() {
    this.translator = undefined
  }

  knowTitle(title: string) {
    this.translator?.knowTitle(title)
  }

  /** The next user message of the agent session is this public one. */
  prompting(messageId: string) {
    if (this.translator) this.translator.pendingUserMessageId = messageId
  }

  concerns(ev: AgentEvent): boolean {
    return this.translator?.concerns(ev) ?? false
  }

  /** Whatever was still streaming is completed with `error`: nothing else will complete it. */
  interruptOpen(error: TurnError) {
    if (this.translator) this.publish(this.translator.interruptOpen(error))
  }

  /** opencode's record after a gap, in place of what the stream would have said. */
  applySnapshot(events: AgentEvent[]) {
    if (this.translator) this.publish(this.translator.applySnapshot(events))
  }

  /** The events of one read of opencode's stream, in order. */
  onAgentEvents(events: AgentEvent[]) {
    for (const ev of events) this.onAgentEvent(ev)
  }

  onAgentEvent(ev: AgentEvent) {
    const translator = this.translator
    if (!translator || !translator.concerns(ev)) return
    if (this.p.fanout.wantsRaw && ev.id !== 'sync') this.p.fanout.publishRaw(ev)
    this.publish(translator.translate(ev))
    if (AgentEventTranslator.sessionOf(ev) !== translator.rootSessionId) return
    const { turns } = this.p
    if (ev.type === 'session.status') {
      const status = ev.properties.status.type
      if (status === 'busy') turns.step(undefined, { kind: 'agent_busy' })
      else if (status === 'idle') turns.step(undefined, { kind: 'agent_idle' })
    } else if (ev.type === 'session.error') {
      const { code, message } = describeAgentError(ev.properties.error as never)
      turns.step(undefined, { kind: 'agent_error', message: `${code}: ${message}` })
    }
  }

  /** Events another runtime's translator made (an ACP agent's): logged and kept track of as opencode's are. */
  /** The reply to `parentId` clients saw opened and not completed (a session restarted mid-turn). */
  openReply(parentId: string) {
    return this.p.log.openReply(parentId, RESTORE_WINDOW)
  }

  publishTranslated(events: PublicEvent[]) {
    this.publish(events)
  }

  private publish(events: PublicEvent[]) {
    const { human, signals } = this.p
    for (const pub of events) {
      if (pub.type === 'permission.resolved') human.resolve('permission', pub.data.permissionId, { reply: pub.data.reply })
      else if (pub.type === 'question.resolved') human.resolve('question', pub.data.questionId, pub.data)
      else {
        signals.emit(pub)
        this.track(pub)
      }
    }
  }

  /** Bookkeeping that follows from public events: conversation, usage, the turn, open requests. */
  private track(pub: PublicEvent) {
    const { store, conversation, turns, human } = this.p
    switch (pub.type) {
      case 'message.completed': {
        if (pub.data.role !== 'assistant') return
        const usage = pub.data.usage ?? zeroUsage()
        store.addUsage(usage)
        this.p.spent(pub.data.messageId, usage)
        // A sub-agent's replies reach the conversation through the task tool's output, not as messages of their own.
        if (pub.data.subagent) return
        // opencode can finish an aborted message after the next turn began: file it under its own turn.
        const parent = pub.data.parentId
        const parts = this.translator?.partsOf(pub.data.messageId) ?? []
        conversation.recordAssistant(pub.data.messageId, parent ? conversation.turnOf(parent) : undefined, pub.data.text, parts)
        turns.assistantCompleted(parent, pub.data.messageId, pub.data.text, usage, pub.data.structured)
        return
      }
      case 'todo.updated':
        store.update({ todos: JSON.stringify(pub.data.items) })
        return
      case 'session.updated':
        store.update({ title: pub.data.title })
        void this.p.signals.syncIndex()
        return
      case 'permission.requested':
        human.asked('permission', pub.data.permissionId, pub.data)
        this.p.signals.tellRun({ kind: 'permission_asked', permissionId: pub.data.permissionId, permission: pub.data.permission, patterns: pub.data.patterns })
        return
      case 'question.asked':
        human.asked('question', pub.data.questionId, pub.data)
        return
    }
  }
}
