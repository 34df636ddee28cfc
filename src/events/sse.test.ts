import { describe, expect, it } from 'vitest'
import { frame, resumeCursor } from './sse'

describe('SSE framing and resume cursors', () => {
  it('frames an event with its sequence as id', () => {
    expect(frame({ seq: 7, type: 'error', data: '{"a":1}' })).toBe('id: 7\nevent: error\ndata: {"a":1}\n\n')
  })

  it.each([
    [undefined, undefined, 0],
    [undefined, 4, 4],
    ['9', 4, 9],
    [' 12 ', undefined, 12],
    ['garbage', 4, 4],
  ])('Last-Event-ID %j, after %j -> %j', (header, after, cursor) => {
    expect(resumeCursor(header, after)).toBe(cursor)
  })
})
