import type { AssistantMessage, Part } from '@opencode-ai/sdk/v2/client'
import type { EventErrorCode, SubagentTag, TodoItem } from '../contracts'

/** How opencode's values become public ones: bounded text, error codes, todo ids, sub-agent tags. */

/** Tool inputs and outputs can be whole files; events carry at most this much of each. */
export const MAX_TOOL_TEXT = 32 * 1024
/**
 * A completed message repeats its whole text; past this it is cut, as a stored event must stay
 * under the 2 MB row limit. The deltas still carry every character.
 */
export const MAX_MESSAGE_TEXT = 512 * 1024


/** opencode's todo items have no ids: an item is known by its place in the list. */
export function todoItems(todos: { content: string; status: string; priority: string }[]): TodoItem[] {
  return todos.map((t, i) => ({ id: String(i + 1), content: t.content, status: t.status, priority: t.priority }))
}

/** What a sub-agent is, from the task tool call that started it, once opencode names its session. */
export function subagentOf(part: Part): SubagentTag | undefined {
  if (part.type !== 'tool' || part.tool !== 'task' || !('metadata' in part.state)) return undefined
  const sessionId = (part.state.metadata as { sessionId?: unknown } | undefined)?.sessionId
  if (typeof sessionId !== 'string') return undefined
  const agent = (part.state.input as { subagent_type?: unknown }).subagent_type
  return { sessionId, callId: part.callID, agent: typeof agent === 'string' ? agent : 'subagent' }
}

export function capText(text: string, max = MAX_TOOL_TEXT): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[truncated ${text.length - max} characters]`
}

export function capValue(value: unknown): unknown {
  const json = JSON.stringify(value ?? null)
  return json.length <= MAX_TOOL_TEXT ? value : { truncated: true, preview: json.slice(0, MAX_TOOL_TEXT) }
}

/** opencode's errors by name, as codes; a Record over its union, so an error it adds does not compile until it has one. */
const AGENT_ERROR_CODES: Record<NonNullable<AssistantMessage['error']>['name'], EventErrorCode> = {
  MessageAbortedError: 'aborted',
  APIError: 'api',
  ProviderAuthError: 'provider_auth',
  ContextOverflowError: 'context_overflow',
  ContentFilterError: 'content_filter',
  MessageOutputLengthError: 'message_output_length',
  StructuredOutputError: 'structured_output',
  UnknownError: 'unknown',
}

export type AgentError = { name?: string; data?: { message?: string } }

/** An agent's error as a code and message; a name this version does not know stays in the message. */
export function describeAgentError(err: AgentError | undefined): { code: EventErrorCode; message: string } {
  const name = err?.name
  const message = err?.data?.message || name || 'the agent reported an error'
  if (name === undefined) return { code: 'agent_error', message }
  if (Object.hasOwn(AGENT_ERROR_CODES, name)) return { code: AGENT_ERROR_CODES[name as keyof typeof AGENT_ERROR_CODES], message }
  return { code: 'agent_error', message: message === name ? name : `${name}: ${message}` }
}

/**
 * A message's structured answer, when it has one that fits in a stored event (a row holds at most
 * 2 MB); one past that is left out, and a run that asked for it fails for want of it.
 */
export function structuredOf(info: { structured?: unknown }): unknown {
  if (info.structured === undefined) return undefined
  return JSON.stringify(info.structured).length <= MAX_MESSAGE_TEXT ? info.structured : undefined
}
