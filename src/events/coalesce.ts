import type { PublicEvent } from '../contracts'

/** A coalesced delta stops growing here, so that no row or frame of a long burst gets large. */
export const MAX_COALESCED_TEXT = 64 * 1024

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
