import type { Event as AgentEvent } from '@opencode-ai/sdk/v2/client'
import { agentEventSplitter } from '../../opencode/event-stream'

/**
 * `silenceMs`: opencode sends a heartbeat every 10 s; three missed ones (30 s) mean the stream is
 * dead, whatever TCP says. `openMs`: opencode says it is connected at once; a stream that stays
 * silent this long from the start never opened. Both from TIMINGS.
 */
export type LinkTimings = { silenceMs: number; agentOpenMs: number }

/** Silence is checked six times per limit (every 5 s by default): it is noticed within 7/6 of it. */
const WATCHES_PER_LIMIT = 6
/** One read takes what has arrived up to this much: a burst is split and handed on in few steps. */
const READ_BYTES = 64 * 1024

/** How the link ended; `exited`: the sandbox said its agent process exited, the stream was still open. */
export type LinkEnd = { reason: 'closed' | 'silent' | 'failed' | 'exited'; detail?: string }

export class AgentStreamError extends Error {}

/** Opens opencode's event stream; `signal` ends it (see ../opencode/event-stream). */
export type OpenAgentStream = (signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>

/**
 * The one upstream subscription to opencode's event stream. It reports the events of every read
 * together, and once, how the stream ended unless we closed it ourselves: the session decides what
 * to do about it.
 */
export class AgentLink {
  private readonly controller = new AbortController()
  private lastHeard = Date.now()
  private watchdog: ReturnType<typeof setInterval> | undefined
  private ended = false
  /** Events held back until the session has caught up from opencode's record; see release(). */
  private held: AgentEvent[] | undefined = []
  private readonly split = agentEventSplitter()
  private readonly decoder = new TextDecoder()
  /** Each read fills this and hands it back (a BYOB read transfers it); it is decoded before the next. */
  private buffer = new ArrayBuffer(READ_BYTES)

  constructor(
    private readonly openStream: OpenAgentStream,
    private readonly onEvents: (events: AgentEvent[]) => void,
    private readonly onEnd: (end: LinkEnd) => void,
    private readonly timings: LinkTimings,
  ) {}

  get closed(): boolean {
    return this.controller.signal.aborted || this.ended
  }

  /**
   * Opens the stream and returns once opencode has said it is connected. Events are held until
   * release(), so that a session can first apply a snapshot taken after the stream opened.
   */
  async open(): Promise<void> {
    const { silenceMs, agentOpenMs } = this.timings
    const opening = setTimeout(() => this.controller.abort(), agentOpenMs)
    let reader: ReadableStreamBYOBReader
    try {
      reader = (await this.openStream(this.controller.signal)).getReader({ mode: 'byob' })
      // opencode has no replay: anything prompted before the stream is open would be lost.
      while (this.held!.length === 0) {
        if (!(await this.read(reader))) throw new AgentStreamError('opencode closed its event stream at once')
      }
    } catch (err) {
      if (this.controller.signal.aborted && !this.ended) throw new AgentStreamError(`opencode did not open its event stream within ${agentOpenMs / 1000} s`)
      throw err
    } finally {
      clearTimeout(opening)
    }
    this.lastHeard = Date.now()
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastHeard > silenceMs) this.finish({ reason: 'silent' })
    }, silenceMs / WATCHES_PER_LIMIT)
    void this.pump(reader)
  }

  release() {
    const held = this.held ?? []
    this.held = undefined
    if (held.length) this.onEvents(held)
  }

  close() {
    this.ended = true
    this.stop()
  }

  private stop() {
    clearInterval(this.watchdog)
    this.controller.abort()
  }

  private finish(end: LinkEnd) {
    if (this.ended) return
    this.ended = true
    this.stop()
    this.onEnd(end)
  }

  /** One read: the events it completed are held or handed on. False when the stream ended. */
  private async read(reader: ReadableStreamBYOBReader): Promise<boolean> {
    const { value, done } = await reader.read(new Uint8Array(this.buffer))
    if (done) return false
    this.buffer = value.buffer as ArrayBuffer
    this.lastHeard = Date.now()
    const events = this.split(this.decoder.decode(value, { stream: true }))
    if (events.length === 0) return true
    if (this.held) this.held.push(...events)
    else this.onEvents(events)
    return true
  }

  private async pump(reader: ReadableStreamBYOBReader) {
    try {
      for (;;) if (!(await this.read(reader))) break
      this.finish({ reason: 'closed' })
    } catch (err) {
      this.finish({ reason: 'failed', detail: err instanceof Error ? err.message : String(err) })
    }
  }
}
