import { describe, expect, it } from 'vitest'
import { agentEventSplitter } from './event-stream'

const ev = (n: number) => ({ type: 'message.part.delta', properties: { n } })
const wire = (...events: unknown[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')

describe("opencode's event stream, split", () => {
  it('hands on every event of a piece at once, in order', () => {
    const split = agentEventSplitter()
    expect(split(wire(ev(1), ev(2), ev(3)))).toEqual([ev(1), ev(2), ev(3)])
  })

  it('keeps an event cut across pieces until its end arrives, at any cut', () => {
    const text = wire(ev(1), ev(2), { type: 'x', properties: { s: 'é ✓ \\n' } })
    for (let cut = 1; cut < text.length; cut++) {
      const split = agentEventSplitter()
      expect([...split(text.slice(0, cut)), ...split(text.slice(cut))]).toEqual([ev(1), ev(2), { type: 'x', properties: { s: 'é ✓ \\n' } }])
    }
  })

  it('reads CRLF line ends, comments and fields other than data as SSE has them', () => {
    const split = agentEventSplitter()
    expect(split(`: heartbeat\r\nevent: message\r\nid: 7\r\ndata: ${JSON.stringify(ev(1))}\r\n\r\nretry: 10\n\n`)).toEqual([ev(1)])
  })

  it('passes over a data line that is not JSON and goes on', () => {
    const split = agentEventSplitter()
    expect(split(`data: not json\n\n${wire(ev(2))}`)).toEqual([ev(2)])
  })
})
