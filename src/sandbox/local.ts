import type { Runtime } from '../contracts'
import { errorMessage } from '../lib/log'
import { DEFAULT_TIMINGS } from '../config/timings'
import { PORT_WATCH_WAIT_MS } from './listening-ports'
import {
  SandboxError,
  type CreateSandboxInput,
  type CreatedSandbox,
  type ExecResult,
  type SandboxEndpoint,
  type SandboxErrorCode,
  type SandboxFile,
  type SandboxFileContent,
  type SandboxProvider,
  type SandboxStatus,
  type SandboxTerminal,
  type TerminalListener,
  type TerminalSize,
  type WorkspaceSnapshots,
} from './provider'

const CODE_OF_STATUS: Record<number, SandboxErrorCode> = { 401: 'unauthorized', 404: 'not_found', 413: 'too_large' }

/** The host's own timeout of a command that names none (local/sandbox-host.ts). */
const HOST_COMMAND_TIMEOUT_MS = 60_000
/** A copy of a large workspace (node_modules) on a disk without copy-on-write takes a while. */
const SNAPSHOT_TIMEOUT_MS = 10 * 60_000

/**
 * Sandboxes as local processes, through the sandbox host that `npm run dev` starts beside
 * `wrangler dev` (a Worker cannot spawn processes). See local/sandbox-host.ts for the other side.
 */
export class LocalSandboxProvider implements SandboxProvider {
  readonly kind = 'local' as const

  /** `callMs`: how long a call to the sandbox host may take (TIMINGS sandboxCallMs; an exec: its own timeout plus this). */
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly callMs: number = DEFAULT_TIMINGS.sandboxCallMs,
  ) {}

  /** Every call has a deadline (or `signal`'s end): a host that hangs must not hold a session's work forever. */
  private async call<T>(method: string, path: string, body?: unknown, timeoutMs = this.callMs, signal?: AbortSignal): Promise<T> {
    let res: Response
    try {
      res = await fetch(`${this.baseUrl.replace(/\/$/, '')}${path}`, {
        method,
        headers: {
          ...(body !== undefined && { 'content-type': body instanceof ReadableStream ? 'application/octet-stream' : 'application/json' }),
          ...(this.token && { authorization: `Bearer ${this.token}` }),
        },
        body: body === undefined || body instanceof ReadableStream ? body : JSON.stringify(body),
        signal: signal ?? AbortSignal.timeout(timeoutMs),
      })
    } catch (err) {
      if (err instanceof Error && err.name === 'TimeoutError') {
        throw new SandboxError('unavailable', `the local sandbox host did not answer within ${Math.round(timeoutMs / 1000)} s`)
      }
      throw new SandboxError('unavailable', `the local sandbox host is not reachable: ${errorMessage(err)}`)
    }
    if (res.ok) return (res.status === 204 ? undefined : await res.json()) as T
    const info = (await res.json().catch(() => ({}))) as { error?: { message?: string } }
    const code = CODE_OF_STATUS[res.status] ?? (res.status >= 500 ? 'unavailable' : 'failed')
    throw new SandboxError(code, info.error?.message ?? `the local sandbox host answered ${res.status}`)
  }

  readonly snapshots: WorkspaceSnapshots = {
    holds: 'workspace',
    take: (sandboxId) => this.call('POST', `/sandboxes/${encodeURIComponent(sandboxId)}/snapshot`, undefined, SNAPSHOT_TIMEOUT_MS),
    delete: async (snapshotId) => {
      await this.call('DELETE', `/snapshots/${encodeURIComponent(snapshotId)}`).catch((err: unknown) => {
        if (!(err instanceof SandboxError && err.code === 'not_found')) throw err
      })
    },
  }

  create(input: CreateSandboxInput): Promise<CreatedSandbox> {
    return this.call('POST', '/sandboxes', input, input.snapshotId ? SNAPSHOT_TIMEOUT_MS : this.callMs)
  }

  fork(sandboxId: string, input: CreateSandboxInput): Promise<CreatedSandbox> {
    return this.call('POST', '/sandboxes', { ...input, forkOf: sandboxId }, SNAPSHOT_TIMEOUT_MS)
  }

  exec(sandboxId: string, command: string, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    // The host ends the command at its own timeout; the call waits a little longer for that answer.
    const timeoutMs = (opts.timeoutMs ?? HOST_COMMAND_TIMEOUT_MS) + this.callMs
    return this.call('POST', `/sandboxes/${encodeURIComponent(sandboxId)}/exec`, { command, ...opts }, timeoutMs)
  }

  readFile(sandboxId: string, path: string): Promise<SandboxFileContent> {
    return this.call('GET', `/sandboxes/${encodeURIComponent(sandboxId)}/files?path=${encodeURIComponent(path)}`)
  }

  async writeFiles(sandboxId: string, files: SandboxFile[]): Promise<void> {
    await this.call('POST', `/sandboxes/${encodeURIComponent(sandboxId)}/files`, { files })
  }

  async writeStream(sandboxId: string, path: string, body: ReadableStream<Uint8Array>): Promise<void> {
    await this.call('PUT', `/sandboxes/${encodeURIComponent(sandboxId)}/files?path=${encodeURIComponent(path)}`, body)
  }

  async startOpencode(sandboxId: string, opts: { cwd: string; runtime?: Runtime }): Promise<SandboxEndpoint> {
    const { url } = await this.call<{ url: string }>('POST', `/sandboxes/${encodeURIComponent(sandboxId)}/opencode`, opts)
    return { url, headers: {} }
  }

  /** The host answers when its child process ends. */
  async agentExit(sandboxId: string, signal: AbortSignal): Promise<string> {
    const { exit } = await this.call<{ exit: string }>('GET', `/sandboxes/${encodeURIComponent(sandboxId)}/opencode/exit`, undefined, undefined, signal)
    return exit
  }

  async status(sandboxId: string): Promise<SandboxStatus> {
    try {
      const { opencode, paused } = await this.call<{ opencode: string; paused: boolean }>('GET', `/sandboxes/${encodeURIComponent(sandboxId)}`)
      if (paused) return 'paused'
      return opencode === 'running' ? 'running' : 'agent_exited'
    } catch (err) {
      if (err instanceof SandboxError && err.code === 'not_found') return 'gone'
      throw err
    }
  }

  async pause(sandboxId: string): Promise<void> {
    await this.call('POST', `/sandboxes/${encodeURIComponent(sandboxId)}/pause`)
  }

  async resume(sandboxId: string): Promise<void> {
    await this.call('POST', `/sandboxes/${encodeURIComponent(sandboxId)}/resume`)
  }

  /** Local sandboxes have no timeout: they live until killed. */
  async keepAlive(): Promise<void> {}

  /**
   * A WebSocket to the host's terminal route: binary frames carry the terminal's bytes both ways,
   * text frames its control (`{"cols","rows"}` up, `{"exit"}` down).
   */
  async openTerminal(sandboxId: string, opts: { cwd: string; size: TerminalSize }, listener: TerminalListener): Promise<SandboxTerminal> {
    const query = new URLSearchParams({ cwd: opts.cwd, cols: String(opts.size.cols), rows: String(opts.size.rows) })
    let res: Response
    try {
      res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/sandboxes/${encodeURIComponent(sandboxId)}/terminal?${query}`, {
        headers: { upgrade: 'websocket', ...(this.token && { authorization: `Bearer ${this.token}` }) },
        signal: AbortSignal.timeout(this.callMs),
      })
    } catch (err) {
      throw new SandboxError('unavailable', `the local sandbox host is not reachable: ${errorMessage(err)}`)
    }
    const ws = res.webSocket
    if (!ws) {
      const info = (await res.json().catch(() => ({}))) as { error?: { message?: string } }
      throw new SandboxError(CODE_OF_STATUS[res.status] ?? 'failed', info.error?.message ?? `the local sandbox host answered ${res.status}`)
    }
    // Bytes as they come, in order: a Blob (the default) would be read back asynchronously.
    ws.binaryType = 'arraybuffer'
    ws.accept()
    let exited = false
    ws.addEventListener('message', (e) => {
      if (typeof e.data !== 'string') return listener.output(new Uint8Array(e.data))
      const exit = (JSON.parse(e.data) as { exit?: number | null }).exit
      exited = true
      listener.exit(exit ?? null)
    })
    ws.addEventListener('close', () => {
      if (!exited) listener.exit(null)
      exited = true
    })
    return {
      write: async (bytes) => ws.send(bytes),
      resize: async (size) => ws.send(JSON.stringify(size)),
      close: async () => {
        exited = true
        ws.close(1000, 'closed')
      },
    }
  }

  /** The host proves each port is held by a process of this sandbox (local/sandbox-ports.ts); a wait is held there. */
  async listeningPorts(sandboxId: string, opts: { differentFrom?: number[]; signal?: AbortSignal } = {}): Promise<number[]> {
    const query = opts.differentFrom ? `?differentFrom=${opts.differentFrom.join(',')}` : ''
    const timeoutMs = opts.differentFrom ? PORT_WATCH_WAIT_MS + this.callMs : this.callMs
    const { ports } = await this.call<{ ports: number[] }>('GET', `/sandboxes/${encodeURIComponent(sandboxId)}/ports${query}`, undefined, timeoutMs, opts.signal)
    return ports
  }

  /** Local sandboxes listen on this machine: the port itself, once listeningPorts has said it is the sandbox's. */
  async portEndpoint(_sandboxId: string, port: number): Promise<SandboxEndpoint> {
    return { url: `http://127.0.0.1:${port}`, headers: {} }
  }

  async kill(sandboxId: string): Promise<void> {
    try {
      await this.call('DELETE', `/sandboxes/${encodeURIComponent(sandboxId)}`)
    } catch (err) {
      if (!(err instanceof SandboxError && err.code === 'not_found')) throw err
    }
  }
}
