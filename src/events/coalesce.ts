import type { PublicEvent } from '../contracts'

/** A coalesced delta stops growing here, so that no row or frame of a long burst gets large. */
export const MAX_COALESCED_TEXT = 64 * 1024

/**
 * A delta's text in pieces of at most MAX_COALESCED_TEXT, never between the halves of a
 * surrogate pair: a part written whole (or caught up after a gap) can be megabytes, more than
 * one event's row may hold (2 MB).
 */
export function deltaPieces(text: string): string[] {
  const pieces: string[] = []
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + MAX_COALESCED_TEXT, text.length)
    const last = text.charCodeAt(end - 1)
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--
    pieces.push(text.slice(start, end))
    start = end
  }
  return pieces
}

type Delta = Extract<PublicEvent, { type: 'message.delta' }>

const isDelta = (ev: PublicEvent): ev is Delta => ev.type === 'message.delta'

/**
 * Whether `next` continues `prev` as the same piece of streamed text: both deltas of one part of
 * one message, of the same kind and sub-agent, short enough together. A client that appends each
 * delta's text to its part cannot tell one such delta from the two it replaces.
 */
export function continues(prev: PublicEvent, next: PublicEvent): boolean {
  if (!isDelta(prev) || !isDelta(next)) return false
  const a = prev.data
  const b = next.data
  return (
    a.messageId === b.messageId &&
    a.partId === b.partId &&
    a.kind === b.kind &&
    a.subagent?.sessionId === b.subagent?.sessionId &&
    a.text.length + b.text.length <= MAX_COALESCED_TEXT
  )
}

/** `prev` with `next`'s text after its own; only for events `continues` accepts. */
export function joined(prev: PublicEvent, next: PublicEvent): PublicEvent {
  const a = prev as Delta
  return { type: a.type, data: { ...a.data, text: a.data.text + (next as Delta).data.text } }
}

/**
 * While events keep coming, stores are at least this far apart: what arrives in between is
 * stored, and its deltas coalesced, together. opencode sends each delta as a chunk of its own,
 * which reaches the session in an event-loop turn of its own, so a window of one turn merged
 * almost nothing; this one merges a burst's deltas and stays below a model's pace (a delta every
 * 5 ms or more), whose deltas still go out one by one without waiting.
 */
export const COALESCE_WINDOW_MS = 4
/** Events waiting to be stored past which they are stored at once, whatever the window says. */
export const MAX_UNWRITTEN = 512

/**
 * How long to wait before storing what is waiting: nothing when the last store is a window or
 * more ago (the first event after a pause goes at once) or when enough is waiting; else until a
 * window after the last store.
 */
export function flushDelay(now: number, lastFlush: number, waiting: number, windowMs = COALESCE_WINDOW_MS): number {
  if (waiting >= MAX_UNWRITTEN) return 0
  return Math.min(windowMs, Math.max(0, lastFlush + windowMs - now))
}
