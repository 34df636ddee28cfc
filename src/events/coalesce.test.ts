import { describe, expect, it } from 'vitest'
import { event, type PublicEvent } from '../contracts'
import { COALESCE_WINDOW_MS, continues, deltaPieces, flushDelay, joined, MAX_COALESCED_TEXT, MAX_UNWRITTEN } from './coalesce'

const delta = (text: string, over: Partial<{ messageId: string; partId: string; kind: 'text' | 'reasoning'; subagent: { sessionId: string; callId: string; agent: string } }> = {}) =>
  event('message.delta', { messageId: 'm', partId: 'p', kind: 'text', text, ...over })

/** What a client rebuilds: the text of each part, in order. */
function texts(events: PublicEvent[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of events) if (e.type === 'message.delta') out[`${e.data.messageId}/${e.data.partId}/${e.data.kind}`] = (out[`${e.data.messageId}/${e.data.partId}/${e.data.kind}`] ?? '') + e.data.text
  return out
}

function coalesce(events: PublicEvent[]): PublicEvent[] {
  const out: PublicEvent[] = []
  for (const e of events) {
    const last = out.at(-1)
    if (last && continues(last, e)) out[out.length - 1] = joined(last, e)
    else out.push(e)
  }
  return out
}

describe('coalescing deltas', () => {
  it('folds consecutive deltas of one part into one, in order', () => {
    const out = coalesce([delta('a'), delta('b'), delta('c')])
    expect(out).toEqual([delta('abc')])
  })

  it('keeps apart deltas of other parts, messages, kinds or sub-agents, and anything between them', () => {
    const sub = { sessionId: 's2', callId: 'c', agent: 'general' }
    const events = [
      delta('1'),
      delta('2', { partId: 'q' }),
      delta('3', { messageId: 'n' }),
      delta('4', { kind: 'reasoning' }),
      delta('5', { subagent: sub }),
      delta('6'),
      event('tool.updated', { messageId: 'm', callId: 'c', tool: 'bash', state: 'running' }),
      delta('7'),
    ]
    const out = coalesce(events)
    expect(out).toEqual(events)
    expect(texts(out)).toEqual(texts(events))
  })

  it('stops a coalesced delta at the size bound, losing nothing', () => {
    const piece = 'x'.repeat(1000)
    const events = Array.from({ length: 200 }, () => delta(piece))
    const out = coalesce(events)
    expect(out.length).toBeGreaterThan(1)
    expect(out.every((e) => e.type === 'message.delta' && e.data.text.length <= MAX_COALESCED_TEXT)).toBe(true)
    expect(texts(out)).toEqual(texts(events))
  })

  it('leaves the events it joins as they were', () => {
    const a = delta('a')
    joined(a, delta('b'))
    expect(a).toEqual(delta('a'))
  })
})

describe('when waiting events are stored', () => {
  it('stores the first event after a pause at once', () => {
    expect(flushDelay(1_000, 0, 1)).toBe(0)
    expect(flushDelay(1_000, 1_000 - COALESCE_WINDOW_MS, 1)).toBe(0)
  })

  it('keeps stores a window apart while events keep coming', () => {
    expect(flushDelay(1_000, 1_000, 1)).toBe(COALESCE_WINDOW_MS)
    expect(flushDelay(1_001, 1_000, 3)).toBe(COALESCE_WINDOW_MS - 1)
  })

  it('never waits longer than a window, even when the clock went back', () => {
    expect(flushDelay(1_000, 5_000, 1)).toBe(COALESCE_WINDOW_MS)
  })

  it('stores at once when enough events wait, whatever the window', () => {
    expect(flushDelay(1_000, 1_000, MAX_UNWRITTEN)).toBe(0)
    expect(flushDelay(1_000, 1_000, MAX_UNWRITTEN - 1)).toBe(COALESCE_WINDOW_MS)
  })

  it("keeps the window below a model's pace of a delta every 5 ms, so that one goes out without waiting", () => {
    expect(COALESCE_WINDOW_MS).toBeLessThan(5)
    expect(flushDelay(1_005, 1_000, 1)).toBe(0)
  })
})

describe('deltaPieces', () => {
  it('cuts a long text at MAX_COALESCED_TEXT, never between the halves of a surrogate pair', () => {
    expect(deltaPieces('')).toEqual([])
    expect(deltaPieces('abc')).toEqual(['abc'])
    // One unit, then emoji of two: every cut at MAX_COALESCED_TEXT would fall inside one.
    const text = `a${'😀'.repeat(MAX_COALESCED_TEXT)}`
    const pieces = deltaPieces(text)
    expect(pieces.join('')).toBe(text)
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(MAX_COALESCED_TEXT)
      // A lone half would reach the client as U+FFFD.
      expect(new TextDecoder().decode(new TextEncoder().encode(p))).toBe(p)
    }
  })
})
