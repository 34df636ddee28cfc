import { expect } from 'vitest'
import { PublicEventSchemas } from '../../src/contracts'
import { api, createSession, sendMessage, type Json } from './http'
import { scripted } from './scripted'
import { baseUrl, TEST_KEYS } from './stack'

export type SseEvent = { id?: number; event: string; data: Json }

/** How long close() waits for the read to end after aborting it. */
const CLOSE_WAIT_MS = 5_000

/**
 * A test's SSE client: reads frames as they arrive and keeps them, so a test can wait for
 * the event it needs and then look at everything that came before it.
 */
export class EventStream {
  readonly events: SseEvent[] = []
  readonly comments: string[] = []
  private readonly controller = new AbortController()
  private waiters: (() => void)[] = []
  private done: Promise<void>
  /** why the stream ended when nobody closed it (a Worker restart cuts every open stream) */
  failure: unknown
  ended = false

  constructor(
    readonly sessionId: string,
    opts: { after?: number; lastEventId?: number; raw?: boolean; key?: string } = {},
  ) {
    const query = new URLSearchParams()
    if (opts.after !== undefined) query.set('after', String(opts.after))
    if (opts.raw) query.set('raw', '1')
    const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? TEST_KEYS[0]}` }
    if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId)
    this.done = this.read(`${baseUrl()}/v1/sessions/${sessionId}/events?${query}`, headers)
  }

  private async read(url: string, headers: Record<string, string>) {
    try {
      const res = await fetch(url, { headers, signal: this.controller.signal })
      if (res.status !== 200 || !res.body) throw new Error(`events answered ${res.status}`)
      const decoder = new TextDecoder()
      let buffer = ''
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let cut: number
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, cut))
          buffer = buffer.slice(cut + 2)
        }
        this.wake()
      }
    } catch (err) {
      // Kept for until() to report, not thrown: a stream a test left open when it restarted the
      // Worker would otherwise fail whichever test runs then, as an unhandled rejection.
      if (!this.controller.signal.aborted) this.failure = err
    } finally {
      this.ended = true
      this.wake()
    }
  }

  private parse(frame: string) {
    let id: number | undefined
    let event = 'message'
    const data: string[] = []
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim())
      else if (line.startsWith('id: ')) id = Number(line.slice(4))
      else if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) data.push(line.slice(6))
    }
    if (!data.length) return
    const parsed = JSON.parse(data.join('\n')) as Json
    // Every event a test reads is checked against the contract: a code outside its enum or a step
    // it does not name ends the stream here, and the test that waits on it says why.
    const schema = event in PublicEventSchemas ? PublicEventSchemas[event as keyof typeof PublicEventSchemas] : undefined
    const checked = schema?.safeParse(parsed)
    if (checked && !checked.success) throw new Error(`${event} ${JSON.stringify(parsed)} does not match the contract: ${checked.error.message}`)
    this.events.push({ id, event, data: parsed })
  }

  private wake() {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** Waits until an event matching `match` has arrived and returns it. */
  async until(match: (e: SseEvent) => boolean, timeoutMs = 60_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find(match)
      if (found) return found
      if (this.ended) throw new Error(`stream ended before the awaited event (${this.failure ? String(this.failure) : 'closed'}); got ${this.summary()}`)
      if (Date.now() > deadline) throw new Error(`timed out; got ${this.summary()}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  summary(): string {
    return this.events.map((e) => `${e.id}:${e.event}`).join(' ')
  }

  get ids(): number[] {
    return this.events.flatMap((e) => (e.id === undefined ? [] : [e.id]))
  }

  async close() {
    this.controller.abort()
    // A read that the abort does not end (seen when the server closed the stream at the same
    // moment, on a session that had just failed) would hold the test until its timeout: the
    // stream is of no more use either way.
    await Promise.race([this.done, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS))])
  }
}

/** A stream that starts after everything the session has logged so far. */
export async function streamFromNow(id: string): Promise<EventStream> {
  const res = await api(`/v1/sessions/${id}`)
  return new EventStream(id, { after: res.body.lastEventId as number })
}

/** The session went idle, as the stream says it (a GET may say so before the stream has). */
/** Every id once, in order, from the first one read: what "no hole, no repeat" means. */
export function expectGapless(events: SseEvent[]) {
  const ids = events.map((e) => e.id!)
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => ids[0]! + i))
}

export const isIdleEvent = (e: SseEvent) => e.event === 'session.status' && e.data.status === 'idle'

/** The session went idle after event `seq`: the end of work that began after it. */
export const idleAfter = (seq: number) => (e: SseEvent) => isIdleEvent(e) && e.id! > seq

/** The answer to a user message: its first assistant message with text (tool calls come in text-less ones). */
export const isReplyTo = (messageId: string) => (e: SseEvent) =>
  e.event === 'message.completed' &&
  e.data.role === 'assistant' &&
  e.data.parentId === messageId &&
  (e.data.text !== '' || e.data.error !== undefined)

/** The text a client rebuilds from the deltas of one message (reasoning deltas are not its text). */
export const deltasOf = (events: SseEvent[], messageId: string) =>
  events
    .filter((e) => e.event === 'message.delta' && e.data.messageId === messageId && e.data.kind === 'text')
    .map((e) => e.data.text as string)
    .join('')

/**
 * Creates a session and waits until it can take a message; says how its sandbox was made: the
 * `sandbox.status` steps (reason, else state), e.g. `creating`, `snapshot (3 s old)`, `setup`.
 */
export async function startedSession(body: Json, key: string = TEST_KEYS[0]): Promise<{ id: string; steps: string[] }> {
  const id = await createSession(body, key)
  const stream = new EventStream(id, { key })
  await stream.until(isIdleEvent)
  await stream.close()
  return { id, steps: stream.events.filter((e) => e.event === 'sandbox.status').map((e) => String(e.data.reason ?? e.data.state)) }
}

/**
 * A new session whose agent runs `command` in its shell (bash allowed) and ends its turn: what
 * the command printed, as the agent saw it.
 */
export async function agentRuns(command: string): Promise<{ id: string; printed: string }> {
  const id = await createSession({ permissions: { bash: 'allow' } })
  const stream = new EventStream(id)
  try {
    const messageId = await sendMessage(id, scripted({ steps: [{ tool: { name: 'bash', args: { command, description: 'look around' } } }, { text: 'seen' }] }))
    await stream.until(isReplyTo(messageId))
    const printed = stream.events.filter((e) => e.event === 'tool.updated' && e.data.state === 'completed').at(-1)?.data.output as string
    return { id, printed }
  } finally {
    await stream.close()
  }
}
