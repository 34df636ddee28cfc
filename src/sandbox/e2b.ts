import { AuthenticationError, CommandExitError, NotFoundError, RateLimitError, Sandbox, type ConnectionOpts } from 'e2b'
import {
  ACP_COMMANDS,
  BRIDGE_PATH,
  SandboxError,
  type CreateSandboxInput,
  type CreatedSandbox,
  type ExecResult,
  type SandboxEndpoint,
  type SandboxFile,
  type SandboxFileContent,
  type SandboxProvider,
  type SandboxStatus,
  type SandboxTerminal,
  type TerminalListener,
  type TerminalSize,
  type WorkspaceSnapshots,
} from './provider'
import type { Runtime } from '../contracts'
import { fileContent, fileTooLarge } from './file-content'
import { END_ORIGINAL_PROCESSES, ENV_FILE, envFile, prepareSandbox, withSandboxEnv } from './e2b-env'
import { e2bSnapshots } from './e2b-snapshots'
import { runDetached } from './e2b-detached'
import { PORT_WATCH_WAIT_MS, portWatchCommand } from './port-watch-command'

const isOpencodeServe = (p: { cmd: string; args: string[] }) => /opencode serve/.test([p.cmd, ...p.args].join(' '))

/** Where opencode listens inside an E2B sandbox; the template's start and our traffic agree on it. */
export const OPENCODE_PORT = 4096
/** envd, E2B's agent in every sandbox. */
const ENVD_PORT = 49983

export type E2BOptions = {
  apiKey: string | undefined
  template: string
  apiUrl?: string
  sandboxUrl?: string
  /** how long E2B keeps a sandbox without a sign of life from us; kept ahead of the idle deadline */
  timeoutMs: number
}

/** Connected sandboxes of this isolate, so each call does not pay a connect round trip. */
const connected = new Map<string, Sandbox>()

function toSandboxError(err: unknown): SandboxError {
  if (err instanceof SandboxError) return err
  if (err instanceof NotFoundError) return new SandboxError('not_found', 'the E2B sandbox does not exist any more')
  if (err instanceof AuthenticationError) return new SandboxError('unauthorized', 'E2B refused the API key (E2B_API_KEY)')
  // E2B's plans cap creates per second (1 on Hobby, 5 on Pro) and sandboxes at once: a burst waits, it does not fail.
  if (err instanceof RateLimitError) return new SandboxError('rate_limited', `E2B is rate limiting: ${err.message}`)
  const message = err instanceof Error ? err.message : String(err)
  // Anything that did not come back as E2B's answer (network, 5xx, timeouts) may pass.
  const transient = /fetch failed|network|timed? ?out|5\d\d|unavailable|ECONN/i.test(message)
  return new SandboxError(transient ? 'unavailable' : 'failed', `E2B: ${message}`)
}

async function attempt<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    throw toSandboxError(err)
  }
}

/**
 * Sessions' sandboxes in E2B's cloud, through the `e2b` SDK. Secrets reach sandboxes only in their
 * env file (see e2b-env.ts), never as environment E2B keeps; opencode's traffic needs the
 * sandbox's traffic token, as sandboxes are created without public traffic.
 */
export class E2BSandboxProvider implements SandboxProvider {
  readonly kind = 'e2b' as const

  readonly snapshots: WorkspaceSnapshots

  constructor(private readonly opts: E2BOptions) {
    this.snapshots = e2bSnapshots({
      connection: () => this.connection(),
      timeoutMs: opts.timeoutMs,
      attempt,
      sandbox: (sandboxId) => this.sandbox(sandboxId),
      forget: (sandboxId) => connected.delete(sandboxId),
      remember: (sbx) => connected.set(sbx.sandboxId, sbx),
      giveEnv: async (sandboxId, envs) => void (await this.giveEnv(await this.sandbox(sandboxId), envs)),
    })
  }

  private connection(): ConnectionOpts {
    return { apiKey: this.opts.apiKey, apiUrl: this.opts.apiUrl, sandboxUrl: this.opts.sandboxUrl }
  }

  private async sandbox(sandboxId: string): Promise<Sandbox> {
    const known = connected.get(sandboxId)
    if (known) return known
    const sbx = await Sandbox.connect(sandboxId, { ...this.connection(), timeoutMs: this.opts.timeoutMs })
    connected.set(sandboxId, sbx)
    return sbx
  }

  /** From the template, or from a snapshot (`input.snapshotId`): its disk, at the same paths. */
  create(input: CreateSandboxInput): Promise<CreatedSandbox> {
    return attempt(async () => {
      const sbx = await Sandbox.create(input.snapshotId ?? this.opts.template, {
        ...this.connection(),
        metadata: input.metadata,
        timeoutMs: this.opts.timeoutMs,
        network: { allowPublicTraffic: false },
      })
      connected.set(sbx.sandboxId, sbx)
      input.created?.(sbx.sandboxId)
      try {
        return { sandboxId: sbx.sandboxId, ...(await this.giveEnv(sbx, input.envs)) }
      } catch (err) {
        // The sandbox exists and bills, but nobody will know its id: it goes now.
        connected.delete(sbx.sandboxId)
        await sbx.kill().catch(() => {})
        throw err
      }
    })
  }

  /**
   * Writes the sandbox's env file (owner-only, through the files API) and says where home and
   * workspace are; with no `envs`, no env file (its environment comes later: WorkspaceSnapshots).
   */
  private async giveEnv(sbx: Sandbox, envs: Record<string, string>): Promise<{ home: string; workdir: string }> {
    const now = Object.keys(envs).length > 0
    const where = await sbx.commands.run(prepareSandbox(now))
    const [home, workdir] = where.stdout.trim().split('\n')
    if (now) await sbx.files.write(`${home}/${ENV_FILE}`, envFile(envs))
    return { home: home!, workdir: workdir! }
  }

  /**
   * `Sandbox.fork`: a copy with the original's disk and memory (envd's, whose environment has no
   * secret, and every process's). Every process of the original that came over is ended (those envd
   * started, then all of the sandbox user's), and only then is the env file overwritten with the
   * copy's own and may opencode start.
   */
  fork(sandboxId: string, input: CreateSandboxInput): Promise<CreatedSandbox> {
    return attempt(async () => {
      const [copy] = await Sandbox.fork(sandboxId, { ...this.connection(), timeoutMs: this.opts.timeoutMs })
      if (!(copy instanceof Sandbox)) throw copy ?? new Error('E2B made no fork')
      connected.set(copy.sandboxId, copy)
      try {
        for (const p of await copy.commands.list()) await copy.commands.kill(p.pid)
        await copy.commands.run(END_ORIGINAL_PROCESSES)
        return { sandboxId: copy.sandboxId, ...(await this.giveEnv(copy, input.envs)) }
      } catch (err) {
        connected.delete(copy.sandboxId)
        await copy.kill().catch(() => {})
        throw err
      }
    })
  }

  exec(sandboxId: string, command: string, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return attempt(async () => {
      const sbx = await this.sandbox(sandboxId)
      try {
        const r = await sbx.commands.run(withSandboxEnv(command), { cwd: opts.cwd, timeoutMs: opts.timeoutMs ?? 60_000 })
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }
      } catch (err) {
        if (err instanceof CommandExitError) return { exitCode: err.exitCode, stdout: err.stdout, stderr: err.stderr }
        throw err
      }
    })
  }

  writeFiles(sandboxId: string, files: SandboxFile[]): Promise<void> {
    return attempt(async () => {
      const sbx = await this.sandbox(sandboxId)
      await sbx.files.write(files.map((f) => ({ path: f.path, data: f.content })))
    })
  }

  writeStream(sandboxId: string, path: string, body: ReadableStream<Uint8Array>): Promise<void> {
    return attempt(async () => {
      const sbx = await this.sandbox(sandboxId)
      // A stream goes up as it is read (envd's octet-stream upload), not gathered into a form first.
      await sbx.files.write(path, body)
    })
  }

  readFile(sandboxId: string, path: string): Promise<SandboxFileContent> {
    return attempt(async () => {
      const sbx = await this.sandbox(sandboxId)
      const tooLarge = fileTooLarge((await sbx.files.getInfo(path)).size)
      if (tooLarge) throw new SandboxError('too_large', tooLarge)
      return fileContent(await sbx.files.read(path, { format: 'bytes' }))
    })
  }

  startOpencode(sandboxId: string, opts: { cwd: string; runtime?: Runtime }): Promise<SandboxEndpoint> {
    return attempt(async () => {
      const sbx = await this.sandbox(sandboxId)
      // A long-lived server: in the background, with no command timeout to end it, and not held on to.
      const runtime = opts.runtime ?? 'opencode'
      const serve =
        runtime === 'opencode'
          ? `exec opencode serve --hostname 0.0.0.0 --port ${OPENCODE_PORT}`
          : `ACP_BRIDGE_HOST=0.0.0.0 exec node ${BRIDGE_PATH} ${OPENCODE_PORT} ${ACP_COMMANDS[runtime]}`
      await runDetached(sbx, withSandboxEnv(serve), { cwd: opts.cwd })
      return this.endpoint(sbx)
    })
  }

  /**
   * Where opencode answers. When the sandbox URL is overridden (a stand-in), traffic goes there
   * and is routed by headers, as the SDK itself does for envd; otherwise to the port's own host.
   */
  private endpoint(sbx: Sandbox, port = OPENCODE_PORT): SandboxEndpoint {
    const headers: Record<string, string> = sbx.trafficAccessToken ? { 'e2b-traffic-access-token': sbx.trafficAccessToken } : {}
    if (this.opts.sandboxUrl) {
      return {
        url: this.opts.sandboxUrl.replace(/\/$/, ''),
        headers: { ...headers, 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': String(port) },
      }
    }
    return { url: `https://${sbx.getHost(port)}`, headers }
  }

  /** A port of the sandbox through E2B's own proxy (`getHost(port)`), opened by the traffic token. */
  portEndpoint(sandboxId: string, port: number): Promise<SandboxEndpoint> {
    return attempt(async () => this.endpoint(await this.sandbox(sandboxId), port))
  }

  /**
   * Every process in an E2B sandbox is the session's, so every listening port is but opencode's
   * and envd's. A wait runs in the sandbox (portWatchCommand), one command per look.
   */
  listeningPorts(sandboxId: string, opts: { differentFrom?: number[] } = {}): Promise<number[]> {
    return attempt(async () => {
      const sbx = await this.sandbox(sandboxId)
      const result = await sbx.commands.run(portWatchCommand([OPENCODE_PORT, ENVD_PORT], opts.differentFrom), { timeoutMs: PORT_WATCH_WAIT_MS + 15_000 })
      return result.stdout.trim().split(',').filter(Boolean).map(Number)
    })
  }

  /**
   * E2B's PTY (envd's Process service: a Start with a size, its output as `pty` data events,
   * SendInput and Update). No time limit: the shell lives until closed, or the sandbox pauses.
   */
  openTerminal(sandboxId: string, opts: { cwd: string; size: TerminalSize }, listener: TerminalListener): Promise<SandboxTerminal> {
    return attempt(async () => {
      const sbx = await this.sandbox(sandboxId)
      const handle = await sbx.pty.create({ ...opts.size, cwd: opts.cwd, timeoutMs: 0, onData: (bytes) => listener.output(bytes) })
      let closed = false
      handle.wait().then(
        (result) => closed || listener.exit(result.exitCode),
        (err: unknown) => closed || listener.exit(err instanceof CommandExitError ? err.exitCode : null),
      )
      return {
        write: (bytes) => attempt(() => sbx.pty.sendInput(handle.pid, bytes)),
        resize: (size) => attempt(() => sbx.pty.resize(handle.pid, size)),
        close: async () => {
          closed = true
          await sbx.pty.kill(handle.pid).catch(() => false)
          await handle.disconnect().catch(() => undefined)
        },
      }
    })
  }

  pause(sandboxId: string): Promise<void> {
    connected.delete(sandboxId)
    return attempt(async () => {
      await Sandbox.pause(sandboxId, this.connection())
    })
  }

  /** `Sandbox.connect` resumes a paused sandbox; its host, and so the endpoint, stay the same. */
  resume(sandboxId: string, timeoutMs: number): Promise<void> {
    return attempt(async () => {
      connected.set(sandboxId, await Sandbox.connect(sandboxId, { ...this.connection(), timeoutMs }))
    })
  }

  keepAlive(sandboxId: string, timeoutMs: number): Promise<void> {
    return attempt(() => Sandbox.setTimeout(sandboxId, timeoutMs, this.connection()))
  }

  /**
   * envd's stream of the opencode process (found by its command line, as `status` finds it) ends
   * with the process, carrying its exit; disconnecting ends only the stream.
   */
  async agentExit(sandboxId: string, signal: AbortSignal): Promise<string> {
    const sbx = await this.sandbox(sandboxId)
    const serving = (await sbx.commands.list()).find((p) => isOpencodeServe(p))
    if (!serving) return 'opencode is not running'
    const handle = await sbx.commands.connect(serving.pid, { timeoutMs: 0 })
    const stop = () => void handle.disconnect().catch(() => {})
    signal.addEventListener('abort', stop, { once: true })
    if (signal.aborted) stop()
    try {
      const result = await handle.wait()
      return `opencode exited with code ${result.exitCode}`
    } catch (err) {
      if (err instanceof CommandExitError) return `opencode exited: ${err.error ?? `code ${err.exitCode}`}`
      throw toSandboxError(err)
    } finally {
      signal.removeEventListener('abort', stop)
    }
  }

  async status(sandboxId: string): Promise<SandboxStatus> {
    try {
      const info = await Sandbox.getInfo(sandboxId, this.connection())
      if (info.state === 'paused') return 'paused'
      const sbx = await this.sandbox(sandboxId)
      const processes = await sbx.commands.list()
      return processes.some(isOpencodeServe) ? 'running' : 'agent_exited'
    } catch (err) {
      const e = toSandboxError(err)
      if (e.code === 'not_found') {
        connected.delete(sandboxId)
        return 'gone'
      }
      throw e
    }
  }

  /** E2B's own count: paused sandboxes do not count toward the plan's sandboxes at once. */
  running(): Promise<number> {
    return attempt(async () => {
      const pages = Sandbox.list({ ...this.connection(), query: { state: ['running'] } })
      let n = 0
      while (pages.hasNext) n += (await pages.nextItems()).length
      return n
    })
  }

  async kill(sandboxId: string): Promise<void> {
    connected.delete(sandboxId)
    await attempt(() => Sandbox.kill(sandboxId, this.connection())).catch((err: SandboxError) => {
      if (err.code !== 'not_found') throw err
    })
  }
}
