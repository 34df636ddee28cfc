import type { Event as AgentEvent, Part } from '@opencode-ai/sdk/v2/client'
import { event, type EventErrorCode, type PublicEvent, type SubagentTag, type TodoItem, type ToolState, type Usage } from '../contracts'
import { deltaPieces } from './coalesce'
import { describeParts, textOf, type ListedPart, type MessageInfo } from './message-parts'
import { capText, capValue, describeAgentError, MAX_MESSAGE_TEXT, structuredOf, subagentOf, todoItems, type AgentError } from './agent-values'


/**
 * Turns the events of one opencode instance into the public events of one session. It keeps
 * just enough state to know which part a delta belongs to, to stream a part's text exactly once
 * and to complete each message once, so every decision about the public stream is made here,
 * away from storage and network. It holds the text of messages being written only: a session
 * can run for days, and a completed message's text lives on in the log and the conversation.
 */
export class AgentEventTranslator {
  private readonly family = new Set<string>()
  /** The sub-agents' sessions (children of the root, or of another sub-agent), by opencode session id. */
  private readonly subagents = new Map<string, SubagentTag>()
  private readonly messages = new Map<string, MessageInfo>()
  private readonly publicUserIds = new Map<string, string>()
  /**
   * The parts of the messages the latest call completed, for `partsOf`: their caller files them
   * as it handles that call's events, so they are let go at the next call.
   */
  private readonly settled = new Map<string, ListedPart[]>()
  private title: string | undefined
  private todos: string | undefined
  /** The public id the next new user message of the root session is known by. */
  pendingUserMessageId: string | undefined
  /** Told when opencode's id for one of our user messages becomes known. */
  onUserMessage: ((agentId: string, publicId: string) => void) | undefined

  constructor(
    readonly rootSessionId: string,
    private readonly workdir: string,
  ) {
    this.family.add(rootSessionId)
  }

  /**
   * Picks up where a previous translator of this session stopped (after a restart of the
   * session object): messages it completed stay completed, text it streamed is not streamed
   * again, and user messages keep their public ids.
   */
  restore(state: {
    completed: Iterable<string>
    streamed: Iterable<{ messageId: string; partId: string; kind: 'text' | 'reasoning'; length: number; subagent?: SubagentTag }>
    userIds: Map<string, string>
    /** sub-agents clients were shown: one still at work goes on streaming, tagged as before */
    subagents?: Iterable<SubagentTag>
  }) {
    for (const tag of state.subagents ?? []) {
      this.family.add(tag.sessionId)
      this.subagents.set(tag.sessionId, tag)
    }
    for (const id of state.completed) this.messages.set(id, { role: 'assistant', parts: new Map(), completed: true })
    for (const p of state.streamed) {
      let msg = this.messages.get(p.messageId)
      if (!msg) {
        msg = { role: 'assistant', parts: new Map(), completed: false, ...(p.subagent && { subagent: p.subagent }) }
        this.messages.set(p.messageId, msg)
      }
      msg.parts.set(p.partId, { kind: p.kind, text: '', streamed: p.length })
    }
    for (const [agentId, publicId] of state.userIds) {
      this.publicUserIds.set(agentId, publicId)
      if (!this.messages.has(agentId)) this.messages.set(agentId, { role: 'user', parts: new Map(), completed: true })
    }
  }

  /**
   * Translates opencode's record of the session after a gap in the stream. Text parts in it
   * are streamed up to where the record has them and then only from their full text: a delta
   * arriving afterwards may or may not already be in the record, so it cannot be placed.
   */
  applySnapshot(events: AgentEvent[]): PublicEvent[] {
    this.settled.clear()
    const out = events.flatMap((ev) => this.translateOne(ev))
    for (const ev of events) {
      if (ev.type !== 'message.part.updated') continue
      const info = this.messages.get(ev.properties.part.messageID)?.parts.get(ev.properties.part.id)
      if (info) info.stale = true
    }
    return out
  }

  /** opencode's id for the user message behind a public id, once it is known. */
  agentIdOf(publicId: string): string | undefined {
    for (const [agentId, id] of this.publicUserIds) if (id === publicId) return agentId
    return undefined
  }

  /** The session an event is about, if it names one. */
  static sessionOf(ev: AgentEvent): string | undefined {
    const props = (ev as { properties?: { sessionID?: unknown } }).properties
    return typeof props?.sessionID === 'string' ? props.sessionID : undefined
  }

  /** Whether a raw event concerns this session (or one of its sub-sessions). */
  concerns(ev: AgentEvent): boolean {
    const sid = AgentEventTranslator.sessionOf(ev)
    return sid === undefined || this.family.has(sid) || this.isNewChild(ev)
  }

  /** A sub-session of this one being made: it names itself, not yet one of the family. */
  private isNewChild(ev: AgentEvent): boolean {
    return ev.type === 'session.created' && !!ev.properties.info.parentID && this.family.has(ev.properties.info.parentID)
  }

  translate(ev: AgentEvent): PublicEvent[] {
    this.settled.clear()
    return this.translateOne(ev)
  }

  private translateOne(ev: AgentEvent): PublicEvent[] {
    if (this.isNewChild(ev)) {
      this.family.add((ev as Extract<AgentEvent, { type: 'session.created' }>).properties.info.id)
      return []
    }
    const sid = AgentEventTranslator.sessionOf(ev)
    if (sid !== undefined && !this.family.has(sid)) return []
    const root = sid === this.rootSessionId
    const subagent = sid === undefined ? undefined : this.subagents.get(sid)
    switch (ev.type) {
      case 'permission.asked':
        return [
          event('permission.requested', {
            permissionId: ev.properties.id,
            permission: ev.properties.permission,
            patterns: ev.properties.patterns,
            metadata: ev.properties.metadata,
          }),
        ]
      case 'permission.replied':
        return [event('permission.resolved', { permissionId: ev.properties.requestID, reply: ev.properties.reply })]
      case 'question.asked':
        return [event('question.asked', { questionId: ev.properties.id, questions: ev.properties.questions })]
      case 'question.replied':
        return [event('question.resolved', { questionId: ev.properties.requestID, answers: ev.properties.answers })]
      case 'question.rejected':
        return [event('question.resolved', { questionId: ev.properties.requestID, rejected: true })]
      case 'file.edited':
        return [event('file.changed', { path: this.relative(ev.properties.file), change: 'edited' })]
    }
    if (subagent) {
      // A sub-agent's messages and tools are shown, tagged; its title, status and errors are the task tool's business.
      switch (ev.type) {
        case 'message.updated':
          return this.onMessage(ev.properties.info, subagent)
        case 'message.part.updated':
          return this.onPart(ev.properties.part, subagent)
        case 'message.part.delta':
          return this.onDelta(ev.properties.messageID, ev.properties.partID, ev.properties.field, ev.properties.delta, subagent)
        default:
          return []
      }
    }
    if (!root) return []
    switch (ev.type) {
      case 'todo.updated':
        return this.onTodos(todoItems(ev.properties.todos))
      case 'session.updated':
        return this.onTitle(ev.properties.info.title)
      case 'message.updated':
        return this.onMessage(ev.properties.info)
      case 'message.part.updated':
        return this.onPart(ev.properties.part)
      case 'message.part.delta':
        return this.onDelta(ev.properties.messageID, ev.properties.partID, ev.properties.field, ev.properties.delta)
      case 'session.error':
        return [event('error', describeAgentError(ev.properties.error as AgentError | undefined))]
      default:
        return []
    }
  }

  /** A list the same as the last one (seen again in a snapshot after a gap) is not announced again. */
  private onTodos(items: TodoItem[]): PublicEvent[] {
    const json = JSON.stringify(items)
    if (json === this.todos) return []
    this.todos = json
    return [event('todo.updated', { items })]
  }

  /** The todo list clients already have, as stored. */
  knowTodos(json: string | null) {
    this.todos = json ?? JSON.stringify([])
  }

  /** opencode names new sessions "New session - <date>" until its title agent has run. */
  private onTitle(title: string): PublicEvent[] {
    if (!title || title === this.title || title.startsWith('New session - ')) return []
    this.title = title
    return [event('session.updated', { title })]
  }

  /** A title already known (set by the user or seen before), so it is not announced again. */
  knowTitle(title: string | null) {
    this.title = title ?? undefined
  }

  private relative(file: string): string {
    const base = this.workdir.endsWith('/') ? this.workdir : `${this.workdir}/`
    return file.startsWith(base) ? file.slice(base.length) : file
  }

  private message(id: string, role: 'user' | 'assistant', out: PublicEvent[], subagent?: SubagentTag): MessageInfo {
    let info = this.messages.get(id)
    if (!info) {
      info = { role, parts: new Map(), completed: false, ...(subagent && { subagent }) }
      this.messages.set(id, info)
      // A sub-agent's prompt is the task tool's input, already shown: its user messages are not announced.
      if (role === 'user' && subagent) info.completed = true
      else if (role === 'user') {
        // User messages are announced when the API accepts them; here we only learn opencode's id.
        this.publicUserIds.set(id, this.pendingUserMessageId ?? id)
        this.pendingUserMessageId = undefined
        this.onUserMessage?.(id, this.publicUserIds.get(id)!)
      } else {
        out.push(event('message.created', { messageId: id, role, ...(subagent && { subagent }) }))
      }
    }
    return info
  }

  private onMessage(info: Extract<AgentEvent, { type: 'message.updated' }>['properties']['info'], subagent?: SubagentTag): PublicEvent[] {
    const out: PublicEvent[] = []
    if (info.role === 'user') {
      this.message(info.id, 'user', out, subagent)
      return out
    }
    const isNew = !this.messages.has(info.id)
    const msg = this.message(info.id, 'assistant', out, subagent)
    // A message known only from a restore learns its parent here, without being announced again.
    msg.parentId ??= this.publicUserIds.get(info.parentID) ?? info.parentID
    if (isNew) out[0] = event('message.created', { messageId: info.id, role: 'assistant', parentId: msg.parentId, ...(subagent && { subagent }) })
    if (info.time.completed && !msg.completed) {
      const usage: Usage = { inputTokens: info.tokens.input, outputTokens: info.tokens.output, cost: info.cost }
      const structured = structuredOf(info)
      out.push(
        event('message.completed', {
          messageId: info.id,
          role: 'assistant',
          text: this.complete(info.id, msg),
          ...(msg.parentId && { parentId: msg.parentId }),
          usage,
          ...(info.error && { error: describeAgentError(info.error as AgentError) }),
          ...(structured !== undefined && { structured }),
          ...(msg.subagent && { subagent: msg.subagent }),
        }),
      )
    }
    return out
  }

  /**
   * Completes, with `error`, every assistant message that was still being written: after the
   * agent died, nothing else will complete them, and clients must not wait for it.
   */
  interruptOpen(error: { code: EventErrorCode; message: string }): PublicEvent[] {
    this.settled.clear()
    const out: PublicEvent[] = []
    for (const [id, msg] of this.messages) {
      if (msg.role !== 'assistant' || msg.completed) continue
      out.push(
        event('message.completed', {
          messageId: id,
          role: 'assistant',
          text: this.complete(id, msg),
          ...(msg.parentId && { parentId: msg.parentId }),
          error,
          ...(msg.subagent && { subagent: msg.subagent }),
        }),
      )
    }
    return out
  }

  /**
   * The parts of a message as the conversation listing shows them: while it is written, and
   * right after the call that completed it (none later: its text is no longer held).
   */
  partsOf(messageId: string): ListedPart[] {
    const settled = this.settled.get(messageId)
    if (settled) return settled
    const msg = this.messages.get(messageId)
    return msg && !msg.completed ? describeParts(msg) : []
  }

  /** Characters of message text held, for the test that it stays bounded. */
  get heldText(): number {
    let chars = 0
    for (const msg of this.messages.values()) for (const p of msg.parts.values()) chars += p.text.length
    for (const parts of this.settled.values()) for (const p of parts) chars += p.type === 'tool' ? 0 : p.text.length
    return chars
  }

  /**
   * Marks a message completed and lets go of its text, which the returned completed text and
   * `partsOf` (until the next call) carry on. Only what later events are checked against stays.
   */
  private complete(id: string, msg: MessageInfo): string {
    msg.completed = true
    const text = capText(textOf(msg), MAX_MESSAGE_TEXT)
    this.settled.set(id, describeParts(msg))
    for (const p of msg.parts.values()) p.text = ''
    return text
  }

  private onPart(part: Part, subagent?: SubagentTag): PublicEvent[] {
    const out: PublicEvent[] = []
    const started = subagentOf(part)
    if (started && this.family.has(started.sessionId)) this.subagents.set(started.sessionId, started)
    const msg = this.message(part.messageID, 'assistant', out, subagent)
    const tag = msg.subagent && { subagent: msg.subagent }
    let info = msg.parts.get(part.id)
    if (!info) {
      info = { kind: part.type, text: '', streamed: 0 }
      msg.parts.set(part.id, info)
    }
    if (msg.role !== 'assistant') return out
    if (part.type === 'text' || part.type === 'reasoning') {
      // A completed message's text went out whole; a piece after it would break the promised order.
      if ((part.type === 'text' && part.synthetic) || msg.completed) return out
      info.text = part.text
      if (part.text.length > info.streamed) {
        // A part can be written whole without deltas; stream what the client has not seen.
        for (const text of deltaPieces(part.text.slice(info.streamed))) {
          out.push(event('message.delta', { messageId: part.messageID, partId: part.id, kind: part.type, text, ...tag }))
        }
        info.streamed = part.text.length
      }
    } else if (part.type === 'tool') {
      const state = part.state
      if (info.tool?.state === state.status && state.status !== 'running') return out
      const title = 'title' in state && state.title ? state.title : undefined
      info.tool = { tool: part.tool, callId: part.callID, state: state.status, ...(title && { title }) }
      out.push(
        event('tool.updated', {
          messageId: part.messageID,
          callId: part.callID,
          tool: part.tool,
          state: state.status as ToolState,
          ...(title && { title }),
          input: capValue(state.input),
          ...(state.status === 'completed' && { output: capText(state.output) }),
          ...(state.status === 'error' && { output: capText(state.error) }),
          ...tag,
        }),
      )
    }
    return out
  }

  private onDelta(messageId: string, partId: string, field: string, delta: string, subagent?: SubagentTag): PublicEvent[] {
    if (field !== 'text' || !delta) return []
    const out: PublicEvent[] = []
    const msg = this.message(messageId, 'assistant', out, subagent)
    if (msg.role !== 'assistant' || msg.completed) return out
    let info = msg.parts.get(partId)
    if (!info) {
      info = { kind: 'text', text: '', streamed: 0 }
      msg.parts.set(partId, info)
    }
    if ((info.kind !== 'text' && info.kind !== 'reasoning') || info.stale) return out
    info.text += delta
    info.streamed += delta.length
    for (const text of deltaPieces(delta)) out.push(event('message.delta', { messageId, partId, kind: info.kind, text, ...(msg.subagent && { subagent: msg.subagent }) }))
    return out
  }
}
