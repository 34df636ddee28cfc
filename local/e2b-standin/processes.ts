import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { Writable } from 'node:stream'
import { spawn as spawnPty, type IPty } from '@lydell/node-pty'
import { ptyBytes } from '../sandbox-terminals'

/**
 * The processes envd started in one sandbox, as envd keeps them: by pid, with their config, until
 * they end. Each runs inside the sandbox's network namespace and leads its own process group,
 * so a signal reaches what it started too.
 */

export type ProcessConfig = { cmd: string; args?: string[]; envs?: Record<string, string>; cwd?: string }

export type EndEvent = { exitCode: number; exited: boolean; status: string; error?: string }

/** A ProcessEvent as protobuf's JSON mapping writes it (bytes as base64). */
export type ProcessEvent =
  | { start: { pid: number } }
  | { data: { stdout: string } | { stderr: string } | { pty: string } }
  | { end: EndEvent }
  | { keepalive: Record<string, never> }

/** After the process exits, how long output still held open by its children is read before the pipes are cut (envd cuts them at once). */
const DRAIN_MS = 100

/** Go's names for the signals that end processes, as envd's end event reports them. */
const SIGNAL_WORDS: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGPIPE: 'broken pipe',
}

export type PtySize = { cols: number; rows: number }

export class SandboxProcess extends EventEmitter<{ event: [ProcessEvent]; end: [EndEvent] }> {
  result?: EndEvent

  constructor(
    readonly pid: number,
    readonly config: ProcessConfig,
    readonly tag: string | undefined,
    private readonly child: ChildProcess | IPty,
  ) {
    super()
  }

  get stdin(): Writable | null {
    return 'stdin' in this.child ? this.child.stdin : null
  }

  /** The pseudo-terminal of a process started with one (envd's `pty`), else nothing. */
  get pty(): IPty | undefined {
    return 'stdin' in this.child ? undefined : this.child
  }

  /** Signals the process's whole group; false when it has already ended. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.result) return false
    try {
      process.kill(-this.pid, signal)
    } catch {
      this.child.kill(signal)
    }
    return true
  }
}

export type StartOptions = {
  config: ProcessConfig
  cwd: string
  env: Record<string, string>
  tag?: string
  stdin: boolean
  /** a pseudo-terminal of this size instead of pipes (envd's `pty`) */
  pty?: PtySize
  /** `/proc/<anchor>/ns/net` */
  netns: string
  /** `/proc/<anchor>/ns/mnt` when the sandbox has a mount namespace; `cwd` is then a path inside it */
  mountns?: string
  /** the client's deadline; the process is killed when it passes, as envd does */
  timeoutMs?: number
}

export class ProcessTable {
  private readonly running = new Map<number, SandboxProcess>()

  list(): SandboxProcess[] {
    return [...this.running.values()]
  }

  find(selector: { pid?: number; tag?: string }): SandboxProcess | undefined {
    if (selector.pid !== undefined) return this.running.get(selector.pid)
    return this.list().find((p) => p.tag !== undefined && p.tag === selector.tag)
  }

  /** Starts a process; resolves once it runs (its pid known), rejects when it cannot start. */
  start(opts: StartOptions): Promise<SandboxProcess> {
    const { config } = opts
    // nsenter joins the namespace and execs the command, so the pid is the command's own.
    const namespaces = opts.mountns ? [`--net=${opts.netns}`, `--mount=${opts.mountns}`, `--wdns=${opts.cwd}`] : [`--net=${opts.netns}`]
    if (opts.pty) return Promise.resolve(this.startPty(opts, opts.pty, namespaces))
    const child = spawn('nsenter', [...namespaces, '--', config.cmd, ...(config.args ?? [])], {
      cwd: opts.mountns ? '/' : opts.cwd,
      env: opts.env,
      detached: true,
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    })
    return new Promise((resolve, reject) => {
      child.once('error', reject)
      child.once('spawn', () => {
        child.off('error', reject)
        child.on('error', () => undefined)
        child.stdin?.on('error', () => undefined)
        const proc = new SandboxProcess(child.pid!, config, opts.tag, child)
        this.running.set(proc.pid, proc)
        this.follow(proc, child, opts.timeoutMs)
        resolve(proc)
      })
    })
  }

  /** A process on a pseudo-terminal: its output comes as `pty` data, stdout and stderr together, as envd sends it. */
  private startPty(opts: StartOptions, size: PtySize, namespaces: string[]): SandboxProcess {
    const { config } = opts
    const pty = spawnPty('nsenter', [...namespaces, '--', config.cmd, ...(config.args ?? [])], {
      name: opts.env.TERM ?? 'xterm-256color',
      cwd: opts.mountns ? '/' : opts.cwd,
      env: opts.env,
      ...size,
      encoding: null,
    })
    const proc = new SandboxProcess(pty.pid, config, opts.tag, pty)
    this.running.set(proc.pid, proc)
    const timer = opts.timeoutMs ? setTimeout(() => proc.signal('SIGKILL'), opts.timeoutMs) : undefined
    pty.onData((chunk) => proc.emit('event', { data: { pty: ptyBytes(chunk).toString('base64') } }))
    pty.onExit(({ exitCode, signal }) => {
      clearTimeout(timer)
      proc.result = signal
        ? { exitCode: -1, exited: false, status: `signal: ${signal}`, error: `signal: ${signal}` }
        : { exitCode, exited: true, status: `exit status ${exitCode}`, ...(exitCode !== 0 && { error: `exit status ${exitCode}` }) }
      this.running.delete(proc.pid)
      proc.emit('event', { end: proc.result })
      proc.emit('end', proc.result)
    })
    return proc
  }

  private follow(proc: SandboxProcess, child: ChildProcess, timeoutMs: number | undefined) {
    const timer = timeoutMs ? setTimeout(() => proc.signal('SIGKILL'), timeoutMs) : undefined
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]!.on('data', (chunk: Buffer) => {
        const data = name === 'stdout' ? { stdout: chunk.toString('base64') } : { stderr: chunk.toString('base64') }
        proc.emit('event', { data })
      })
    }
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      const finish = () => {
        if (proc.result) return
        child.stdout!.destroy()
        child.stderr!.destroy()
        proc.result = signal
          ? { exitCode: -1, exited: false, status: `signal: ${SIGNAL_WORDS[signal] ?? signal}`, error: `signal: ${SIGNAL_WORDS[signal] ?? signal}` }
          : { exitCode: code ?? -1, exited: true, status: `exit status ${code}`, ...(code !== 0 && { error: `exit status ${code}` }) }
        this.running.delete(proc.pid)
        proc.emit('event', { end: proc.result })
        proc.emit('end', proc.result)
      }
      child.once('close', finish)
      setTimeout(finish, DRAIN_MS)
    })
  }
}
