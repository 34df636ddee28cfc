import { event, type SandboxState } from '../../contracts'
import { portChanges } from '../../sandbox/listening-ports'
import type { SandboxProvider } from '../../sandbox/provider'
import { sleep } from '../../lib/sleep'
import type { EventSink } from '../ports'

/** After a look that failed (the provider unreachable), the next waits this long. */
const RETRY_MS = 5_000

type Parts = {
  provider: Pick<SandboxProvider, 'listeningPorts'>
  signals: EventSink
  /** the session's sandbox now, if any */
  sandboxId(): string | undefined
}

/**
 * The ports the session's sandbox listens on, announced as they open and close (`sandbox.port`),
 * for previews. Watched while the sandbox is ready (one held look at a time, the provider's);
 * the ports known outlive a pause or a new sandbox, so what changed meanwhile is announced.
 */
export class OpenPorts {
  private known: number[] = []
  private watch: { sandboxId: string; stop: AbortController } | undefined

  constructor(private readonly p: Parts) {}

  /** Told every sandbox state the session reaches: watching while ready, not otherwise. */
  follow(state: SandboxState) {
    const sandboxId = this.p.sandboxId()
    if (state === 'ready' && sandboxId) this.start(sandboxId)
    else this.stop()
  }

  stop() {
    this.watch?.stop.abort()
    this.watch = undefined
  }

  /**
   * Whether a process of the sandbox listens on `port` now: the ports known, else one look at
   * the provider (an object woken afresh knows none yet), which then watches on.
   */
  async listening(sandboxId: string, port: number): Promise<boolean> {
    if (this.watch?.sandboxId === sandboxId && this.known.includes(port)) return true
    this.take(await this.p.provider.listeningPorts(sandboxId))
    if (this.watch?.sandboxId !== sandboxId) this.start(sandboxId)
    return this.known.includes(port)
  }

  private start(sandboxId: string) {
    if (this.watch?.sandboxId === sandboxId) return
    this.stop()
    const stop = new AbortController()
    this.watch = { sandboxId, stop }
    void this.loop(sandboxId, stop.signal)
  }

  private async loop(sandboxId: string, signal: AbortSignal) {
    while (!signal.aborted) {
      try {
        const ports = await this.p.provider.listeningPorts(sandboxId, { differentFrom: this.known, signal })
        if (!signal.aborted) this.take(ports)
      } catch {
        if (!signal.aborted) await sleep(RETRY_MS)
      }
    }
  }

  private take(ports: number[]) {
    for (const change of portChanges(this.known, ports)) this.p.signals.emit(event('sandbox.port', change))
    this.known = ports
  }
}
