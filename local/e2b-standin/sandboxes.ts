import { execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { delimiter, dirname, isAbsolute, join } from 'node:path'
import { promisify } from 'node:util'
import { pidsInNamespace, startNamespace, type Namespace } from './network'
import { ProcessTable } from './processes'

/**
 * Sandboxes and their lives: created running, paused (every process stopped, memory kept),
 * resumed, and killed by request or when their timeout passes, after which nothing is left of them.
 */

/** E2B's default when a create names no timeout. */
const DEFAULT_TIMEOUT_S = 15
/** The envd version we claim: recent enough for every feature the SDK gates that we serve (octet-stream uploads, closeStdin). */
export const ENVD_VERSION = '0.5.7'
const USER = 'user'
const run = promisify(execFile)

export type SandboxState = 'running' | 'paused'

export type Sandbox = {
  id: string
  templateID: string
  clientID: string
  envdAccessToken: string
  /** set when the sandbox was created without public traffic; its ports then demand it */
  trafficAccessToken?: string
  metadata: Record<string, string>
  envs: Record<string, string>
  allowInternetAccess: boolean
  autoPause: boolean
  dir: string
  home: string
  runDir: string
  state: SandboxState
  startedAt: Date
  endAt: Date
  timer?: NodeJS.Timeout
  /** set once the sandbox is being killed */
  ending?: Promise<void>
  /** process starts it refuses before it runs any, as a sandbox whose envd came up broken */
  refusedStarts?: number
  ns: Namespace
  processes: ProcessTable
}

export type CreateInput = {
  templateID: string
  timeoutS?: number
  envs?: Record<string, string>
  metadata?: Record<string, string>
  allowPublicTraffic?: boolean
  allowInternetAccess?: boolean
  autoPause?: boolean
}

export type SandboxesOptions = { root: string; egressPorts: number[]; pathPrepend: string[] }

export class Sandboxes {
  private readonly all = new Map<string, Sandbox>()
  private readonly path: string

  constructor(private readonly opts: SandboxesOptions) {
    // `node` must be found inside, as the template would have it, wherever this Node lives.
    this.path = [...opts.pathPrepend, dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(delimiter)
  }

  get(id: string): Sandbox | undefined {
    return this.all.get(id)
  }

  list(): Sandbox[] {
    return [...this.all.values()]
  }

  async create(input: CreateInput): Promise<Sandbox> {
    const id = `i${randomBytes(10).toString('hex')}`
    const dir = join(this.opts.root, id)
    const home = join(dir, 'home', USER)
    const runDir = join(dir, 'run')
    await mkdir(home, { recursive: true })
    await mkdir(runDir, { recursive: true })
    // Commands run as `bash -l`, whose /etc/profile resets PATH; the template's profile sets it back.
    await writeFile(join(home, '.bash_profile'), `export PATH='${this.path.replaceAll("'", `'\\''`)}'\n[ -f ~/.bashrc ] && . ~/.bashrc\n`)
    let ns: Namespace
    try {
      ns = await startNamespace(runDir, this.opts.egressPorts)
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
    const now = new Date()
    const sb: Sandbox = {
      id,
      templateID: input.templateID,
      clientID: randomUUID(),
      envdAccessToken: randomBytes(24).toString('hex'),
      ...(input.allowPublicTraffic === false && { trafficAccessToken: randomBytes(24).toString('hex') }),
      metadata: input.metadata ?? {},
      envs: input.envs ?? {},
      allowInternetAccess: input.allowInternetAccess ?? true,
      autoPause: input.autoPause ?? false,
      dir,
      home,
      runDir,
      state: 'running',
      startedAt: now,
      endAt: now,
      ns,
      processes: new ProcessTable(),
    }
    this.all.set(id, sb)
    // The anchor ending on its own (it should not) leaves a sandbox without a network: end it whole.
    ns.anchor.once('exit', () => void this.kill(sb))
    this.setTimeout(sb, input.timeoutS ?? DEFAULT_TIMEOUT_S)
    return sb
  }

  /**
   * A fork: a new sandbox of the same template, environment and traffic rules, its home (and so
   * its workspace) a copy of the original's as it stands. E2B copies memory too; here processes
   * stay behind, which a fork's caller that restarts its servers cannot tell apart.
   */
  async fork(original: Sandbox, timeoutS: number | undefined): Promise<Sandbox> {
    const sb = await this.create({
      templateID: original.templateID,
      timeoutS,
      envs: original.envs,
      metadata: original.metadata,
      allowPublicTraffic: original.trafficAccessToken === undefined,
      allowInternetAccess: original.allowInternetAccess,
      autoPause: original.autoPause,
    })
    try {
      await run('cp', ['-a', '--reflink=auto', '--', `${original.home}/.`, sb.home])
    } catch (err) {
      await this.kill(sb)
      throw err
    }
    return sb
  }

  /** The sandbox ends (or pauses, when created so) `seconds` from now. */
  setTimeout(sb: Sandbox, seconds: number) {
    if (sb.ending) return
    clearTimeout(sb.timer)
    sb.endAt = new Date(Date.now() + seconds * 1000)
    sb.timer = setTimeout(() => (sb.autoPause ? this.pause(sb) : void this.kill(sb)), seconds * 1000)
  }

  /** The environment of a process, in envd's order: basics, then the sandbox's envs, then the call's. */
  processEnv(sb: Sandbox, envs: Record<string, string> | undefined): Record<string, string> {
    return { PATH: this.path, HOME: sb.home, USER, LOGNAME: USER, ...sb.envs, ...envs }
  }

  /** A path as envd resolves it: `~` is the home folder, relative paths start there. */
  resolvePath(sb: Sandbox, path: string | undefined): string {
    if (!path || path === '~') return sb.home
    if (path.startsWith('~/')) return join(sb.home, path.slice(2))
    return isAbsolute(path) ? path : join(sb.home, path)
  }

  /**
   * The sandbox's processes, its anchor aside: all in its namespace, and those envd just started
   * (nsenter may not have joined the namespace yet).
   */
  pids(sb: Sandbox): number[] {
    const inside = pidsInNamespace(sb.ns.netns).filter((pid) => pid !== sb.ns.pid)
    return [...new Set([...sb.processes.list().map((p) => p.pid), ...inside])]
  }

  /** Stops every process of the sandbox where it stands; their memory stays as it is. */
  pause(sb: Sandbox) {
    clearTimeout(sb.timer)
    sb.state = 'paused'
    this.signalAll(sb, 'SIGSTOP')
  }

  resume(sb: Sandbox, timeoutS: number | undefined) {
    sb.state = 'running'
    this.signalAll(sb, 'SIGCONT')
    this.setTimeout(sb, timeoutS ?? DEFAULT_TIMEOUT_S)
  }

  /** Ends the sandbox; it stays known until nothing of it is left, so a 404 means gone for good. */
  kill(sb: Sandbox): Promise<void> {
    sb.ending ??= this.end(sb)
    return sb.ending
  }

  private async end(sb: Sandbox) {
    clearTimeout(sb.timer)
    // A process may fork while we look: look again until the namespace is empty.
    for (let round = 0; round < 10; round++) {
      for (const p of sb.processes.list()) p.signal('SIGKILL')
      const pids = pidsInNamespace(sb.ns.netns).filter((pid) => pid !== sb.ns.pid)
      if (pids.length === 0) break
      for (const pid of pids) signal(pid, 'SIGKILL')
      await new Promise((r) => setTimeout(r, 20))
    }
    sb.ns.close()
    // Killed processes may still be flushing files; rm retries through that.
    await rm(sb.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
    this.all.delete(sb.id)
  }

  async closeAll() {
    await Promise.all(this.list().map((sb) => this.kill(sb)))
  }

  private signalAll(sb: Sandbox, sig: 'SIGSTOP' | 'SIGCONT') {
    for (const p of sb.processes.list()) p.signal(sig)
    for (const pid of this.pids(sb)) signal(pid, sig)
  }
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}
