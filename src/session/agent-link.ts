import type { Event as AgentEvent, OpencodeClient } from '@opencode-ai/sdk/v2/client'

/**
 * `silenceMs`: opencode sends a heartbeat every 10 s; three missed ones (30 s) mean the stream is
 * dead, whatever TCP says. `openMs`: opencode says it is connected at once; a stream that stays
 * silent this long from the start never opened. Both from TIMINGS.
 */
export type LinkTimings = { silenceMs: number; agentOpenMs: number }

/** Silence is checked six times per limit (every 5 s by default): it is noticed within 7/6 of it. */
const WATCHES_PER_LIMIT = 6

/** How the link ended; `exited`: the sandbox said its agent process exited, the stream was still open. */
export type LinkEnd = { reason: 'closed' | 'silent' | 'failed' | 'exited'; detail?: string }

export class AgentStreamError extends Error {}

/**
 * The one upstream subscription to opencode's event stream. It reports every event, and once,
 * how the stream ended unless we closed it ourselves: the session decides what to do about it.
 */
export class AgentLink {
  private readonly controller = new AbortController()
  private lastHeard = Date.now()
  private watchdog: ReturnType<typeof setInterval> | undefined
  private ended = false
  /** Events held back until the session has caught up from opencode's record; see release(). */
  private held: AgentEvent[] | undefined = []

  constructor(
    private readonly client: OpencodeClient,
    private readonly onEvent: (ev: AgentEvent) => void,
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
    let stream: AsyncIterator<unknown>
    try {
      const sub = await this.client.event.subscribe({}, { signal: this.controller.signal, sseMaxRetryAttempts: 1 })
      stream = sub.stream[Symbol.asyncIterator]()
      // opencode has no replay: anything prompted before the stream is open would be lost.
      const first = await stream.next()
      if (first.done) throw new AgentStreamError('opencode closed its event stream at once')
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
    void this.pump(stream)
  }

  release() {
    const held = this.held ?? []
    this.held = undefined
    for (const ev of held) this.onEvent(ev)
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

  private async pump(stream: AsyncIterator<unknown>) {
    try {
      for (;;) {
        const next = await stream.next()
        if (next.done) break
        this.lastHeard = Date.now()
        if (this.held) this.held.push(next.value as AgentEvent)
        else this.onEvent(next.value as AgentEvent)
      }
      this.finish({ reason: 'closed' })
    } catch (err) {
      this.finish({ reason: 'failed', detail: err instanceof Error ? err.message : String(err) })
    }
  }
}
