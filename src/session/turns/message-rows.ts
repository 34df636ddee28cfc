/**
 * How a message of the conversation is stored within SQLite's 2 MB per row (Durable Objects'
 * limit; workerd refuses more with SQLITE_TOOBIG). A message's row holds its text and its
 * parts, which repeat the text: a reply of 512K characters of CJK is 1.5 MB of text and as much
 * again of parts. One that fits stays in its row as before; a larger one is kept whole in
 * pieces of its own, and its row keeps the start of its text, which is what code that knows no
 * pieces (the release before, during a rollout) shows.
 */

/** What a message's text and parts may take in its row, in bytes: well under the 2 MB with the row's other columns. */
export const MESSAGE_ROW_BYTES = 1024 * 1024
/** What one piece of a larger message holds, in bytes. */
export const PIECE_BYTES = 1024 * 1024

export type MessageBody = { text: string; parts: unknown[] }
/** A message as stored: `text` and `parts` (JSON) for its row, and `pieces` when it does not fit there. */
export type StoredBody = { text: string; parts: string; pieces: string[] }

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** `text` cut into pieces of at most `maxBytes` (4 or more: a character's most) of UTF-8 each, never inside a character. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const bytes = encoder.encode(text)
  const pieces: string[] = []
  for (let start = 0; start < bytes.length; ) {
    let end = Math.min(start + maxBytes, bytes.length)
    // A continuation byte (10xxxxxx) is inside a character: cut before the character starts.
    while (end < bytes.length && end > start && (bytes[end]! & 0xc0) === 0x80) end--
    pieces.push(decoder.decode(bytes.subarray(start, end)))
    start = end
  }
  return pieces
}

const utf8Bytes = (text: string) => encoder.encode(text).byteLength

/** How `body` is stored: in its row when it fits, else whole in pieces with the start of its text in its row. */
export function storedBody(body: MessageBody): StoredBody {
  const parts = JSON.stringify(body.parts)
  if (utf8Bytes(body.text) + utf8Bytes(parts) <= MESSAGE_ROW_BYTES) return { text: body.text, parts, pieces: [] }
  const noParts = '[]'
  return {
    text: splitUtf8(body.text, MESSAGE_ROW_BYTES - noParts.length)[0] ?? '',
    parts: noParts,
    pieces: splitUtf8(JSON.stringify(body), PIECE_BYTES),
  }
}

/** A message read back: from its pieces when it has any, else from its row. */
export function readBody(row: { text: string; parts: string }, pieces: string[]): MessageBody {
  if (pieces.length > 0) return JSON.parse(pieces.join('')) as MessageBody
  return { text: row.text, parts: JSON.parse(row.parts) as unknown[] }
}
