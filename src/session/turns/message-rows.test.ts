import { describe, expect, it } from 'vitest'
import { MESSAGE_ROW_BYTES, PIECE_BYTES, readBody, splitUtf8, storedBody } from './message-rows'

const bytes = (s: string) => new TextEncoder().encode(s).byteLength

describe('message rows within the row limit', () => {
  it('cuts text by UTF-8 bytes, never inside a character', () => {
    const text = 'a漢😀b'.repeat(1000)
    for (const max of [4, 5, 7, 100]) {
      const pieces = splitUtf8(text, max)
      expect(pieces.join('')).toBe(text)
      for (const p of pieces) {
        expect(bytes(p)).toBeLessThanOrEqual(max)
        expect(p).not.toContain('\uFFFD')
      }
    }
    expect(splitUtf8('', 10)).toEqual([])
  })

  it('keeps a message that fits in its row, as before', () => {
    const body = { text: 'hello', parts: [{ type: 'text', text: 'hello' }] }
    expect(storedBody(body)).toEqual({ text: 'hello', parts: '[{"type":"text","text":"hello"}]', pieces: [] })
    expect(readBody(storedBody(body), [])).toEqual(body)
  })

  it('keeps a larger one whole in pieces, its row holding the start of its text', () => {
    // 400K characters of three bytes: 1.2 MB of text, and as much again in its parts.
    const text = '長'.repeat(400_000)
    const body = { text, parts: [{ type: 'reasoning', text: 'think' }, { type: 'text', text }] }
    const stored = storedBody(body)
    expect(bytes(stored.text) + bytes(stored.parts)).toBeLessThanOrEqual(MESSAGE_ROW_BYTES)
    expect(text.startsWith(stored.text)).toBe(true)
    expect(stored.parts).toBe('[]')
    expect(stored.pieces.length).toBeGreaterThan(2)
    for (const p of stored.pieces) expect(bytes(p)).toBeLessThanOrEqual(PIECE_BYTES)
    expect(readBody(stored, stored.pieces)).toEqual(body)
  })
})
