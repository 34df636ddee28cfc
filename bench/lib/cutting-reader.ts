import { SseParser, streamEvents, type StreamEnd } from '../../src/client/sse'
import { KEY } from './sse'

export type CuttingReader = {
  /** every id as it came off the wire, over all connections, repeats included */
  readonly ids: number[]
  /** connections opened (the first one and every reconnection) */
  readonly connections: () => number
  /** a message's text rebuilt from its deltas, as the client library handed them over */
  readonly deltaTexts: Map<string, string>
  /** `message.completed` text of each assistant message */
  readonly completedTexts: Map<string, string>
  /** how the stream ended: `ended` once `session.ended` came and the stream closed */
  readonly done: Promise<StreamEnd['reason'] | Error>
  /** gives up on a stream that never ends */
  stop(): void
}

/**
 * A client of the typed client library (src/client/sse.ts) whose connection is cut at random
 * moments, so it keeps resuming with `Last-Event-ID`. The library drops an id it has already
 * handed over; this reader also notes every id as it came off the wire, beneath that guard, so a
 * server that sent an event twice is caught. It taps the bytes as the library reads them (a
 * stream that pulls only when the library asks), so a chunk cut off unread is not counted.
 */
export function cuttingReader(baseUrl: string, sessionId: string, cutAfterMs: () => number): CuttingReader {
  const ids: number[] = []
  const deltaTexts = new Map<string, string>()
  const completedTexts = new Map<string, string>()
  const stopping = new AbortController()
  let connections = 0

  const cuttingFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const cut = new AbortController()
    const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal
    const res = await fetch(input, { ...init, signal })
    connections++
    if (res.status !== 200 || !res.body) return res
    const upstream = res.body.getReader()
    const timer = setTimeout(() => cut.abort(), cutAfterMs())
    const decoder = new TextDecoder()
    const tap = new SseParser((frame) => {
      if (frame.id !== undefined) ids.push(Number(frame.id))
    })
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            const { done, value } = await upstream.read()
            if (done) {
              clearTimeout(timer)
              controller.close()
              return
            }
            tap.push(decoder.decode(value, { stream: true }))
            controller.enqueue(value)
          } catch (err) {
            clearTimeout(timer)
            throw err
          }
        },
        cancel(reason) {
          clearTimeout(timer)
          return upstream.cancel(reason)
        },
      },
      { highWaterMark: 0 },
    )
    return new Response(body, { status: res.status, headers: res.headers })
  }) as typeof fetch

  const done = streamEvents(baseUrl, sessionId, {
    apiKey: KEY,
    fetch: cuttingFetch,
    signal: stopping.signal,
    retryMs: 50,
    maxRetryMs: 1_000,
    onEvent: (e) => {
      if (e.type === 'message.delta' && e.data.kind === 'text') {
        deltaTexts.set(e.data.messageId, (deltaTexts.get(e.data.messageId) ?? '') + e.data.text)
      } else if (e.type === 'message.completed' && e.data.role === 'assistant') {
        completedTexts.set(e.data.messageId, e.data.text)
      }
    },
  }).then(
    (end) => end.reason,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  )

  return { ids, connections: () => connections, deltaTexts, completedTexts, done, stop: () => stopping.abort() }
}
