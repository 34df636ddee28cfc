import type { Part } from '@opencode-ai/sdk/v2/client'
import type { SubagentTag } from '../contracts'

/** What the translator knows of a message being written, and how its parts are listed. */

export type PartInfo = {
  kind: Part['type']
  text: string
  streamed: number
  /** seen in a snapshot after a gap: its deltas can no longer be placed, only its full text */
  stale?: boolean
  tool?: { tool: string; callId: string; state: string; title?: string }
}
/** A part as the conversation listing shows it. */
export type ListedPart = { type: 'text' | 'reasoning'; text: string } | ({ type: 'tool' } & NonNullable<PartInfo['tool']>)
export type MessageInfo = {
  role: 'user' | 'assistant'
  parentId?: string
  parts: Map<string, PartInfo>
  completed: boolean
  /** set on the messages of a sub-agent's session */
  subagent?: SubagentTag
}

export function describeParts(msg: MessageInfo): ListedPart[] {
  return [...msg.parts.values()].flatMap<ListedPart>((p) => {
    if ((p.kind === 'text' || p.kind === 'reasoning') && p.text) return [{ type: p.kind, text: p.text }]
    if (p.tool) return [{ type: 'tool', ...p.tool }]
    return []
  })
}

/** A message's text: its text parts, reasoning and tools left out. */
export function textOf(msg: MessageInfo): string {
  return [...msg.parts.values()]
    .filter((p) => p.kind === 'text' && p.text)
    .map((p) => p.text)
    .join('\n\n')
}
