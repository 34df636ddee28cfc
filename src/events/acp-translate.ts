import type { RequestPermissionRequest, SessionUpdate, StopReason, ToolCallContent, ToolCallStatus } from '@agentclientprotocol/sdk'
import { event, zeroUsage, type PublicEvent, type ToolState } from '../contracts'

/**
 * The pure translation of an ACP agent's `session/update` notifications (and its permission
 * requests, and the end of its prompt) into the public events opencode's sessions send. ACP has
 * no message ids: each turn's reply is one assistant message, named by `newId`, whose parent is
 * the user message being answered. Text and thought chunks are deltas of one part each.
 */

/** Longest tool output kept on an event; the rest is the agent's to show. */
const MAX_OUTPUT = 16 * 1024

const TOOL_STATE: Record<ToolCallStatus, ToolState> = { pending: 'pending', in_progress: 'running', completed: 'completed', failed: 'error' }

type Reply = { messageId: string; parentId: string; text: string; parts: Partial<Record<'text' | 'reasoning', string>> }
type Tool = { tool: string; title?: string; input?: unknown; state: ToolState }

function outputOf(content: ToolCallContent[] | null | undefined, raw: unknown): string | undefined {
  const texts = (content ?? []).flatMap((c) => (c.type === 'content' && c.content.type === 'text' ? [c.content.text] : c.type === 'diff' ? [`${c.path}`] : []))
  const text = texts.length > 0 ? texts.join('\n') : raw === undefined || raw === null || raw === '' ? undefined : typeof raw === 'string' ? raw : JSON.stringify(raw)
  return text === undefined ? undefined : text.slice(0, MAX_OUTPUT)
}

function toolName(meta: unknown, kind: string | null | undefined): string {
  const named = (meta as { claudeCode?: { toolName?: unknown } } | null | undefined)?.claudeCode?.toolName
  return typeof named === 'string' ? named : (kind ?? 'other')
}

export class AcpTranslator {
  private reply: Reply | undefined
  private readonly tools = new Map<string, Tool>()
  private parentId: string | undefined

  constructor(private readonly newId: (prefix: string) => string) {}

  /** The next updates answer this (public) user message. */
  prompting(userMessageId: string) {
    this.parentId = userMessageId
    this.reply = undefined
    this.tools.clear()
  }

  /**
   * A session object restarted mid-turn takes the turn up where clients saw it: `reply` is the
   * message they saw opened for it, which the turn's end completes rather than a new one.
   */
  resume(userMessageId: string, reply: { messageId: string; text: string } | undefined) {
    this.prompting(userMessageId)
    if (reply) this.reply = { messageId: reply.messageId, parentId: userMessageId, text: reply.text, parts: {} }
  }

  get answering(): string | undefined {
    return this.parentId
  }

  /** Updates outside a turn (a `session/load` replaying the conversation) were sent to clients before: nothing. */
  translate(update: SessionUpdate): PublicEvent[] {
    if (this.parentId === undefined) return []
    switch (update.sessionUpdate) {
      case 'agent_message_chunk':
      case 'agent_thought_chunk': {
        if (update.content.type !== 'text' || !update.content.text) return []
        const kind = update.sessionUpdate === 'agent_message_chunk' ? 'text' : 'reasoning'
        const out = this.open()
        const reply = this.reply!
        const partId = (reply.parts[kind] ??= this.newId('prt'))
        if (kind === 'text') reply.text += update.content.text
        out.push(event('message.delta', { messageId: reply.messageId, partId, kind, text: update.content.text }))
        return out
      }
      case 'tool_call': {
        const out = this.open()
        const tool: Tool = { tool: toolName(update._meta, update.kind), title: update.title, input: update.rawInput, state: TOOL_STATE[update.status ?? 'pending'] }
        this.tools.set(update.toolCallId, tool)
        out.push(this.toolEvent(update.toolCallId, tool, outputOf(update.content, update.rawOutput)))
        return out
      }
      case 'tool_call_update': {
        const out = this.open()
        const known = this.tools.get(update.toolCallId) ?? { tool: toolName(update._meta, update.kind), state: 'pending' as ToolState }
        const tool: Tool = {
          ...known,
          ...(update.title && { title: update.title }),
          ...(update.rawInput !== undefined && update.rawInput !== null && { input: update.rawInput }),
          ...(update.status && { state: TOOL_STATE[update.status] }),
        }
        this.tools.set(update.toolCallId, tool)
        // Claude Code sends a status-less update with its tool's own response first: nothing a client needs twice.
        if (!update.status && !update.content && update.rawOutput === undefined) return out
        out.push(this.toolEvent(update.toolCallId, tool, outputOf(update.content, update.rawOutput)))
        return out
      }
      case 'plan':
        return [
          event('todo.updated', {
            items: update.entries.map((e, i) => ({ id: String(i + 1), content: e.content, status: e.status, priority: e.priority })),
          }),
        ]
      default:
        return []
    }
  }

  /** A permission request of the agent, as the public event a human answers. */
  permission(request: RequestPermissionRequest, permissionId: string): PublicEvent[] {
    const call = request.toolCall
    const tool = this.tools.get(call.toolCallId)
    return [
      event('permission.requested', {
        permissionId,
        permission: tool?.tool ?? toolName(call._meta, call.kind),
        patterns: [call.title ?? tool?.title ?? call.toolCallId],
        metadata: { callId: call.toolCallId, input: call.rawInput ?? tool?.input, options: request.options.map((o) => o.kind) },
      }),
    ]
  }

  /**
   * The prompt ended: the reply is completed (an empty one if the agent said nothing), with an
   * error when it did not end on its own. Tools still open end with it.
   */
  finish(stop: StopReason | { error: string }): PublicEvent[] {
    if (this.parentId === undefined) return []
    const out = this.open()
    const reply = this.reply!
    const error =
      typeof stop === 'object'
        ? { code: 'agent_error' as const, message: stop.error }
        : stop === 'cancelled'
          ? { code: 'aborted' as const, message: 'the turn was aborted' }
          : stop === 'refusal'
            ? { code: 'content_filter' as const, message: 'the agent refused to go on' }
            : stop === 'max_tokens'
              ? { code: 'message_output_length' as const, message: 'the reply reached its token limit' }
              : undefined
    for (const [callId, tool] of this.tools) {
      if (tool.state === 'pending' || tool.state === 'running') out.push(this.toolEvent(callId, { ...tool, state: 'error' }, undefined))
    }
    out.push(event('message.completed', { messageId: reply.messageId, role: 'assistant', text: reply.text, parentId: reply.parentId, usage: zeroUsage(), ...(error && { error }) }))
    this.parentId = undefined
    this.reply = undefined
    this.tools.clear()
    return out
  }

  /** The turn's reply, created (and announced) on its first update. */
  private open(): PublicEvent[] {
    if (this.reply || this.parentId === undefined) return []
    this.reply = { messageId: this.newId('msg'), parentId: this.parentId, text: '', parts: {} }
    return [event('message.created', { messageId: this.reply.messageId, role: 'assistant', parentId: this.parentId })]
  }

  private toolEvent(callId: string, tool: Tool, output: string | undefined): PublicEvent {
    return event('tool.updated', {
      messageId: this.reply?.messageId ?? '',
      callId,
      tool: tool.tool,
      state: tool.state,
      ...(tool.title && { title: tool.title }),
      ...(tool.input !== undefined && { input: tool.input }),
      ...(output !== undefined && { output }),
    })
  }
}
