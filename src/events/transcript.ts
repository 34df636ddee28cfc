import type { PublicEvent } from '../contracts'

/**
 * The earlier conversation as text, for an agent that cannot take back a record of its own
 * (Claude Code, Codex) and starts blank in a new sandbox: built from the session's own event log,
 * each answered turn as the user's message, the tools the agent called (one line each) and its
 * reply, oldest first. Bounded in bytes: the oldest turns go first, and the text says so.
 */

/** Longest summary of one tool call (its title, else its input). */
const TOOL_SUMMARY_CHARS = 200

const OPENING =
  '<earlier-conversation>\n' +
  'This session was moved to a new sandbox, and you start without memory of what was said before. ' +
  'Below is the conversation so far, oldest first, as the session recorded it: read it as context, not as a new request. ' +
  "The files in the workspace are as that work left them. The user's new message follows after it.\n"
const CLOSING = '</earlier-conversation>\n'

type Tool = { name: string; summary: string; failed: boolean }
type Turn = { user: string; tools: Map<string, Tool>; replies: string[]; errors: string[]; answered: boolean }

/** The log's events of the conversation (message.created, message.completed, tool.updated), in order. */
function turnsOf(events: PublicEvent[]): Turn[] {
  const turns = new Map<string, Turn>()
  /** each reply's user message */
  const parentOf = new Map<string, string>()
  for (const ev of events) {
    if (ev.type === 'message.created') {
      if (ev.data.subagent) continue
      if (ev.data.role === 'user') turns.set(ev.data.messageId, { user: ev.data.text ?? '', tools: new Map(), replies: [], errors: [], answered: false })
      else if (ev.data.parentId) parentOf.set(ev.data.messageId, ev.data.parentId)
    } else if (ev.type === 'tool.updated') {
      if (ev.data.subagent) continue
      const turn = turns.get(parentOf.get(ev.data.messageId) ?? '')
      if (!turn) continue
      const summary = ev.data.title || (ev.data.input === undefined ? '' : JSON.stringify(ev.data.input))
      turn.tools.set(ev.data.callId, { name: ev.data.tool, summary: oneLine(summary, TOOL_SUMMARY_CHARS), failed: ev.data.state === 'error' })
    } else if (ev.type === 'message.completed' && ev.data.role === 'assistant' && !ev.data.subagent) {
      const turn = turns.get(ev.data.parentId ?? parentOf.get(ev.data.messageId) ?? '')
      if (!turn) continue
      turn.answered = true
      if (ev.data.text) turn.replies.push(ev.data.text)
      if (ev.data.error) turn.errors.push(ev.data.error.message)
    }
  }
  return [...turns.values()].filter((t) => t.answered)
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max)}…` : flat
}

function render(turn: Turn): string {
  const lines = ['', `User: ${turn.user}`, 'You:']
  for (const tool of turn.tools.values()) lines.push(`  [tool ${tool.name}${tool.summary ? `: ${tool.summary}` : ''}${tool.failed ? ' (failed)' : ''}]`)
  for (const reply of turn.replies) lines.push(reply)
  for (const error of turn.errors) lines.push(`  [the turn ended with an error: ${oneLine(error, TOOL_SUMMARY_CHARS)}]`)
  return `${lines.join('\n')}\n`
}

const encoder = new TextEncoder()
const bytesOf = (text: string) => encoder.encode(text).length

/** `text` cut to at most `max` bytes of UTF-8, never in the middle of a character. */
function fitBytes(text: string, max: number): string {
  const bytes = encoder.encode(text)
  if (bytes.length <= max) return text
  return new TextDecoder().decode(bytes.subarray(0, Math.max(0, max))).replace(/\uFFFD$/, '')
}

/** The note of the turns left out; none when none is. */
const leftOut = (n: number) => (n === 0 ? '' : `(The ${n === 1 ? 'oldest turn is' : `${n} oldest turns are`} left out, to keep this short.)\n`)

/**
 * The transcript of the conversation `events` record (the log's message and tool events, in
 * order), at most `maxBytes` of UTF-8: every answered turn when they fit, else the newest that
 * do, with a note of how many older ones were left out (a newest turn too long alone is cut).
 * Undefined when no turn was answered yet.
 */
export function transcriptOf(events: PublicEvent[], maxBytes: number): string | undefined {
  const turns = turnsOf(events).map(render)
  if (turns.length === 0) return undefined
  const whole = OPENING + turns.join('') + CLOSING
  if (bytesOf(whole) <= maxBytes) return whole
  // Newest first while they fit beside the frame and the note (its length at most that of the largest count).
  let budget = maxBytes - bytesOf(OPENING + CLOSING + leftOut(turns.length))
  const kept: string[] = []
  for (let i = turns.length - 1; i >= 0; i--) {
    const size = bytesOf(turns[i]!)
    if (size > budget) {
      if (kept.length === 0 && budget > 0) kept.unshift(`${fitBytes(turns[i]!, budget - bytesOf('…\n'))}…\n`)
      break
    }
    kept.unshift(turns[i]!)
    budget -= size
  }
  return fitBytes(OPENING + leftOut(turns.length - kept.length) + kept.join('') + CLOSING, maxBytes)
}
