import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { SseParser, StreamError, streamEvents, type SessionEvent, type SseFrame } from './sse'

/** What the little server does with one connection; `n` counts connections from 1. */
type Behaviour = (req: IncomingMessage, res: ServerResponse, n: number) => void

type TestServer = { url: string; requests: { url: string; headers: IncomingMessage['headers'] }[]; close(): Promise<void> }

const servers: TestServer[] = []

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function serve(behaviour: Behaviour): Promise<TestServer> {
  const requests: TestServer['requests'] = []
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url!, headers: req.headers })
    behaviour(req, res, requests.length)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const s: TestServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  servers.push(s)
  return s
}

const frame = (id: number, type = 'message.delta', extra: Record<string, unknown> = {}) =>
  `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ sessionId: 'ses_1', at: 'now', n: id, ...extra })}\n\n`

const openStream = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' })

/** The id a connection asks to resume after: Last-Event-ID wins over ?after=, as on the real server. */
const resumeFrom = (req: IncomingMessage) => Number(req.headers['last-event-id'] ?? new URL(req.url!, 'http://x').searchParams.get('after') ?? 0)

/** A session whose log is events 1..total, the last one `session.ended`. */
const logOf = (total: number) => Array.from({ length: total }, (_, i) => frame(i + 1, i + 1 === total ? 'session.ended' : 'message.delta'))

const collect = () => {
  const events: SessionEvent[] = []
  return { events, onEvent: (e: SessionEvent) => events.push(e) }
}

describe('SseParser', () => {
  it('parses frames split anywhere, with CRLF, CR, comments, multi-line data and retry', () => {
    const frames: SseFrame[] = []
    const parser = new SseParser((f) => frames.push(f))
    const text = ': ping\r\nid: 1\r\nevent: a\r\ndata: {"x":\r\ndata: 1}\r\n\r\nretry: 250\rid:2\rdata:plain\r\rdata: no id\n\nevent: empty\n\n'
    for (const ch of text) parser.push(ch)
    expect(frames).toEqual([
      { id: '1', event: 'a', data: '{"x":\n1}' },
      { id: '2', event: 'message', data: 'plain' },
      { id: undefined, event: 'message', data: 'no id' },
    ])
    expect(parser.retryMs).toBe(250)
  })

  it('forgets a half-received frame on reset', () => {
    const frames: SseFrame[] = []
    const parser = new SseParser((f) => frames.push(f))
    parser.push('id: 1\nevent: a\ndata: {"half"')
    parser.reset()
    parser.push('id: 2\nevent: b\ndata: {}\n\n')
    expect(frames).toEqual([{ id: '2', event: 'b', data: '{}' }])
  })
})

describe('streamEvents', () => {
  it('reconnects with Last-Event-ID after a drop mid-frame and delivers every event once, in order', async () => {
    const log = logOf(30)
    const server = await serve((req, res, n) => {
      openStream(res)
      const from = resumeFrom(req)
      const rest = log.slice(from)
      if (n <= 3) {
        // send a few whole frames, then half of the next one, then cut the connection
        const whole = rest.slice(0, 5).join('')
        const half = rest[5]!.slice(0, 20)
        res.write(whole + half, () => setTimeout(() => res.socket!.destroy(), 20))
      } else {
        res.end(rest.join(''))
      }
    })
    const { events, onEvent } = collect()
    const reconnects: number[] = []
    const end = await streamEvents(server.url, 'ses_1', {
      apiKey: 'k',
      onEvent,
      retryMs: 10,
      onReconnect: (r) => reconnects.push(r.lastEventId),
    })
    expect(end).toEqual({ reason: 'ended', lastEventId: 30 })
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(events.at(-1)!.type).toBe('session.ended')
    expect(reconnects).toEqual([5, 10, 15])
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '5', '10', '15'])
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer k')).toBe(true)
    expect(server.requests.every((r) => !r.url.includes('token='))).toBe(true)
  })

  it('never delivers an event twice, even from a server that replays from the start', async () => {
    const log = logOf(12)
    const server = await serve((_req, res, n) => {
      openStream(res)
      if (n === 1) res.write(log.slice(0, 7).join(''), () => setTimeout(() => res.socket!.destroy(), 20))
      else res.end(log.join('')) // ignores Last-Event-ID
    })
    const { events, onEvent } = collect()
    await streamEvents(server.url, 'ses_1', { apiKey: 'k', onEvent, retryMs: 10 })
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
  })

  it('starts after `after`, and resumes from there on the first reconnect', async () => {
    const log = logOf(10)
    const server = await serve((req, res, n) => {
      openStream(res)
      const rest = log.slice(resumeFrom(req))
      if (n === 1) res.write(rest.slice(0, 2).join(''), () => setTimeout(() => res.socket!.destroy(), 20))
      else res.end(rest.join(''))
    })
    const { events, onEvent } = collect()
    await streamEvents(server.url, 'ses_1', { apiKey: 'k', after: 4, onEvent, retryMs: 10 })
    expect(events.map((e) => e.id)).toEqual([5, 6, 7, 8, 9, 10])
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual(['4', '6'])
  })

  it('reconnects after a clean close that came before session.ended', async () => {
    const log = logOf(6)
    const server = await serve((req, res, n) => {
      openStream(res)
      const rest = log.slice(resumeFrom(req))
      res.end((n === 1 ? rest.slice(0, 3) : rest).join(''))
    })
    const { events, onEvent } = collect()
    await streamEvents(server.url, 'ses_1', { apiKey: 'k', onEvent, retryMs: 10 })
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6])
    expect(server.requests).toHaveLength(2)
  })

  it('asks again after 503, and asks the token function before every connection', async () => {
    const log = logOf(4)
    const server = await serve((req, res, n) => {
      if (n === 1) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"unavailable"}}')
        return
      }
      openStream(res)
      const rest = log.slice(resumeFrom(req))
      if (n === 2) res.write(rest.slice(0, 2).join(''), () => setTimeout(() => res.socket!.destroy(), 20))
      else res.end(rest.join(''))
    })
    let issued = 0
    const { events, onEvent } = collect()
    await streamEvents(server.url, 'ses_1', { token: () => `tok${++issued}`, onEvent, retryMs: 10 })
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4])
    expect(server.requests.map((r) => new URL(r.url, server.url).searchParams.get('token'))).toEqual(['tok1', 'tok2', 'tok3'])
    expect(server.requests.every((r) => r.headers.authorization === undefined)).toBe(true)
  })

  it('gives up at once on 401 and 404', async () => {
    for (const status of [401, 404]) {
      const server = await serve((_req, res) => res.writeHead(status).end('{"error":{"code":"nope"}}'))
      const attempt = streamEvents(server.url, 'ses_1', { apiKey: 'bad', onEvent: () => {}, retryMs: 10 })
      await expect(attempt).rejects.toBeInstanceOf(StreamError)
      await expect(attempt).rejects.toMatchObject({ status })
      expect(server.requests).toHaveLength(1)
    }
  })

  it('stops after maxAttempts failures in a row', async () => {
    const server = await serve((_req, res) => res.writeHead(502).end('bad gateway'))
    const attempt = streamEvents(server.url, 'ses_1', { apiKey: 'k', onEvent: () => {}, retryMs: 5, maxAttempts: 3 })
    await expect(attempt).rejects.toMatchObject({ status: 502 })
    expect(server.requests).toHaveLength(3)
  })

  it('stops when its signal aborts, mid-stream', async () => {
    const server = await serve((_req, res) => {
      openStream(res)
      res.write(frame(1) + frame(2))
    })
    const controller = new AbortController()
    const { events, onEvent } = collect()
    const done = streamEvents(server.url, 'ses_1', {
      apiKey: 'k',
      signal: controller.signal,
      onEvent: (e) => {
        onEvent(e)
        if (e.id === 2) controller.abort()
      },
    })
    await expect(done).resolves.toEqual({ reason: 'aborted', lastEventId: 2 })
    expect(events.map((e) => e.id)).toEqual([1, 2])
    expect(server.requests).toHaveLength(1)
  })

  it('hands frames without an id (raw agent events) to onFrame only', async () => {
    const server = await serve((_req, res) => {
      openStream(res)
      res.end(`event: agent.event\ndata: {"type":"x"}\n\n${frame(1, 'session.ended', { reason: 'deleted' })}`)
    })
    const frames: SseFrame[] = []
    const { events, onEvent } = collect()
    await streamEvents(server.url, 'ses_1', { apiKey: 'k', raw: true, onEvent, onFrame: (f) => frames.push(f) })
    expect(frames.map((f) => f.event)).toEqual(['agent.event', 'session.ended'])
    expect(events).toEqual([{ id: 1, type: 'session.ended', data: { sessionId: 'ses_1', at: 'now', n: 1, reason: 'deleted' } }])
    expect(new URL(server.requests[0]!.url, server.url).searchParams.get('raw')).toBe('1')
  })
})
