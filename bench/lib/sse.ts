/** The API key of every bench stack. */
export const KEY = 'bench-key'

export type Arrival = {
  /** undefined for `agent.event` frames (`?raw=1`), which carry no id */
  id: number | undefined
  event: string
  data: Record<string, any>
  /** when the chunk holding this frame was read (ms since the epoch) */
  at: number
}

export type ReadOptions = {
  /** `?after=` */
  after?: number
  /** the `Last-Event-ID` header instead */
  lastEventId?: number
  /** `?raw=1`: opencode's own events too, as `agent.event` */
  raw?: boolean
  /** stop once this returns true for an event (that event is always kept) */
  done: (e: Arrival) => boolean
  /** keep only the events this accepts (default: all), so long reads hold little */
  keep?: (e: Arrival) => boolean
  /** give up (and throw) after this long; default 120 s */
  timeoutMs?: number
  /** more request headers (the proxy's secret, when reading the Worker behind wrangler's proxy) */
  headers?: Record<string, string>
}

/**
 * Reads a session's SSE stream through the Worker, noting when each frame arrived, until `done`
 * says so. The parsing is the minimum: split frames, read id, event and the one data line.
 */
export async function readEvents(baseUrl: string, sessionId: string, opts: ReadOptions): Promise<Arrival[]> {
  const query = new URLSearchParams()
  if (opts.after !== undefined) query.set('after', String(opts.after))
  if (opts.raw) query.set('raw', '1')
  const headers: Record<string, string> = { ...opts.headers, authorization: `Bearer ${KEY}` }
  if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId)
  const timeoutMs = opts.timeoutMs ?? 120_000
  const signal = AbortSignal.timeout(timeoutMs)
  const res = await fetch(`${baseUrl}/v1/sessions/${sessionId}/events?${query}`, { headers, signal })
  if (res.status !== 200 || !res.body) throw new Error(`events of ${sessionId} answered ${res.status}`)
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  const out: Arrival[] = []
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`the stream of ${sessionId} ended before the awaited event (${out.length} kept)`)
      const at = performance.timeOrigin + performance.now()
      buffer += decoder.decode(value, { stream: true })
      let cut: number
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const e = parseFrame(buffer.slice(0, cut), at)
        buffer = buffer.slice(cut + 2)
        if (!e) continue
        const last = opts.done(e)
        if (last || !opts.keep || opts.keep(e)) out.push(e)
        if (last) return out
      }
    }
  } catch (err) {
    if (signal.aborted) throw new Error(`no awaited event on ${sessionId} within ${timeoutMs / 1000} s (${out.length} kept)`)
    throw err
  } finally {
    await reader.cancel().catch(() => {})
  }
}

function parseFrame(frame: string, at: number): Arrival | undefined {
  let id: number | undefined
  let event = 'message'
  let data: string | undefined
  for (const line of frame.split('\n')) {
    if (line.startsWith('id: ')) id = Number(line.slice(4))
    else if (line.startsWith('event: ')) event = line.slice(7)
    else if (line.startsWith('data: ')) data = line.slice(6)
  }
  if (data === undefined) return undefined // a ping
  return { id, event, data: JSON.parse(data) as Record<string, any>, at }
}

export const isIdle = (e: Arrival) => e.event === 'session.status' && e.data.status === 'idle'

/**
 * The send times the scripted model put at the start of each stamped piece (`stamp: true`) in a
 * delta's text: one per piece, several when the Worker stored consecutive pieces as one delta.
 */
export function stampsOf(text: unknown): number[] {
  return typeof text === 'string' ? [...text.matchAll(/(\d+\.\d{3}) /g)].map((m) => Number(m[1])) : []
}
