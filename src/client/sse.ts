import type { PublicEventMap, PublicEventType } from '../contracts'

/**
 * Reading a session's event stream with fetch (so it can send the Authorization header), with
 * reconnection: after a drop it asks again with `Last-Event-ID` and never hands an event over
 * twice, even if the server were to send one again.
 */

/** One event as the stream carries it: the contract's data plus `sessionId` and `at`. */
export type SessionEvent = {
  [K in PublicEventType]: { id: number; type: K; data: PublicEventMap[K] & { sessionId: string; at: string } }
}[PublicEventType]

/** A frame as parsed, before it is known to be one of ours (`agent.event` frames have no id). */
export type SseFrame = { id?: string; event: string; data: string }

/**
 * An SSE parser after the WHATWG rules: lines end with \n, \r\n or \r; `field: value` with one
 * optional space; data lines join with \n; a blank line dispatches; comments start with `:`.
 * Feed it text as it arrives, split anywhere.
 */
export class SseParser {
  private buffer = ''
  private data: string[] = []
  private event = ''
  private id: string | undefined
  private sawCr = false
  /** the last `retry:` the server asked for, in ms */
  retryMs: number | undefined

  constructor(private readonly onFrame: (frame: SseFrame) => void) {}

  push(text: string) {
    let start = 0
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]
      if (ch === '\n' && this.sawCr) {
        // the \n of a \r\n whose \r ended the previous line
        this.sawCr = false
        start = i + 1
        continue
      }
      this.sawCr = false
      if (ch === '\r' || ch === '\n') {
        this.line(this.buffer + text.slice(start, i))
        this.buffer = ''
        start = i + 1
        this.sawCr = ch === '\r'
      }
    }
    this.buffer += text.slice(start)
  }

  /** Forgets a half-received frame (the connection dropped in the middle of it). */
  reset() {
    this.buffer = ''
    this.data = []
    this.event = ''
    this.id = undefined
    this.sawCr = false
  }

  private line(line: string) {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') this.data.push(value)
    else if (field === 'event') this.event = value
    else if (field === 'id' && !value.includes('\0')) this.id = value
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value)
  }

  private dispatch() {
    const frame = { id: this.id, event: this.event || 'message', data: this.data.join('\n') }
    const hasData = this.data.length > 0
    this.data = []
    this.event = ''
    this.id = undefined
    if (hasData) this.onFrame(frame)
  }
}

export type StreamEventsOptions = {
  /** the API key, sent as `Authorization: Bearer` (never in the URL) */
  apiKey?: string
  /** or a session token, sent as `?token=`; a function is asked again before every (re)connection, so it can refresh */
  token?: string | (() => string | Promise<string>)
  /** start after this event id (0 or absent: from the beginning) */
  after?: number
  onEvent: (event: SessionEvent) => void
  /** also called for frames without an id, such as `agent.event` with `raw` */
  onFrame?: (frame: SseFrame) => void
  /** told about each drop before the next attempt (attempt counts from 1) */
  onReconnect?: (info: { attempt: number; lastEventId: number; error: unknown }) => void
  signal?: AbortSignal
  /** ask for opencode's own events too (`?raw=1`) */
  raw?: boolean
  /** first delay before reconnecting, in ms (default 500; doubles up to maxRetryMs; a server's `retry:` wins) */
  retryMs?: number
  maxRetryMs?: number
  /** give up after this many failed attempts in a row (default: never) */
  maxAttempts?: number
  fetch?: typeof fetch
}

export type StreamEnd = { reason: 'ended' | 'aborted'; lastEventId: number }

/** A response the stream cannot recover from by asking again (bad key, unknown session, ...). */
export class StreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the event stream answered ${status}: ${body.slice(0, 300)}`)
  }
}

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })

/**
 * Streams a session's events to `onEvent`, in order and each once, reconnecting with
 * `Last-Event-ID` whenever the connection drops. Resolves when the session has ended
 * (`session.ended` seen and the stream closed) or when `signal` aborts; rejects on an answer
 * that asking again cannot fix (401, 404, ...) or after `maxAttempts` failures in a row.
 */
export async function streamEvents(baseUrl: string, sessionId: string, opts: StreamEventsOptions): Promise<StreamEnd> {
  const doFetch = opts.fetch ?? fetch
  let lastEventId = opts.after ?? 0
  let ended = false
  let failures = 0
  let delay = opts.retryMs ?? 500
  const maxDelay = opts.maxRetryMs ?? 30_000
  const base = baseUrl.replace(/\/+$/, '')

  const parser = new SseParser((frame) => {
    if (frame.id === undefined || !/^\d+$/.test(frame.id)) {
      opts.onFrame?.(frame)
      return
    }
    const id = Number(frame.id)
    if (id <= lastEventId) return // already delivered
    lastEventId = id
    opts.onFrame?.(frame)
    const event = { id, type: frame.event, data: JSON.parse(frame.data) } as SessionEvent
    if (event.type === 'session.ended') ended = true
    opts.onEvent(event)
  })

  for (;;) {
    if (opts.signal?.aborted) return { reason: 'aborted', lastEventId }
    const query = new URLSearchParams()
    if (opts.raw) query.set('raw', '1')
    const headers: Record<string, string> = { accept: 'text/event-stream' }
    if (opts.apiKey !== undefined) headers.authorization = `Bearer ${opts.apiKey}`
    else if (opts.token !== undefined) query.set('token', typeof opts.token === 'string' ? opts.token : await opts.token())
    if (lastEventId > 0) headers['last-event-id'] = String(lastEventId)
    const qs = query.toString()
    const url = `${base}/v1/sessions/${encodeURIComponent(sessionId)}/events${qs ? `?${qs}` : ''}`

    let error: unknown
    const before = lastEventId
    try {
      const res = await doFetch(url, { headers, signal: opts.signal })
      if (res.status !== 200 || !res.body) {
        const body = await res.text().catch(() => '')
        if (!RETRYABLE(res.status)) throw new StreamError(res.status, body)
        error = new StreamError(res.status, body)
      } else {
        const decoder = new TextDecoder()
        const reader = res.body.getReader()
        try {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) break
            parser.push(decoder.decode(value, { stream: true }))
          }
        } finally {
          reader.releaseLock()
        }
        if (ended) return { reason: 'ended', lastEventId }
        error = new Error('the event stream closed')
      }
    } catch (err) {
      if (err instanceof StreamError && !RETRYABLE(err.status)) throw err
      if (opts.signal?.aborted) return { reason: 'aborted', lastEventId }
      if (ended) return { reason: 'ended', lastEventId }
      error = err
    }
    parser.reset()
    // A connection that brought something new resets the backoff.
    if (lastEventId > before) {
      failures = 0
      delay = opts.retryMs ?? 500
    }
    failures++
    if (opts.maxAttempts !== undefined && failures >= opts.maxAttempts) throw error
    opts.onReconnect?.({ attempt: failures, lastEventId, error })
    await sleep(parser.retryMs ?? delay, opts.signal)
    delay = Math.min(delay * 2, maxDelay)
  }
}
