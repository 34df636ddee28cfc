import { execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { delimiter, dirname, isAbsolute, join } from 'node:path'
import { promisify } from 'node:util'
import { dropMemory, sandboxPids, signal } from './memory'
import { startNamespace, type Namespace } from './network'
import { ProcessTable, type ProcessConfig } from './processes'
import { installedFolder, seedOpencodeConfig } from '../opencode-config-folder'

/**
 * Sandboxes and their lives: created running, paused (every process stopped, memory kept; or,
 * without memory, every process ended), resumed (without memory: booted afresh), and killed by request or when their timeout passes, after which nothing is left of them.
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
  /** the home as the sandbox's processes see it (for a fork, its original's path) */
  home: string
  /** where that home is on the host (the same path but in a fork) */
  hostHome: string
  runDir: string
  state: SandboxState
  startedAt: Date
  /** when it was made or last resumed: what E2B's limit on a continuous run counts from */
  runningSince: Date
  endAt: Date
  timer?: NodeJS.Timeout
  /** set once the sandbox is being killed */
  ending?: Promise<void>
  /** process starts it refuses before it runs any, as a sandbox whose envd came up broken */
  refusedStarts?: number
  /** process event streams (Start, Connect) a client holds open now: each is one of its outbound connections */
  openStreams?: number
  ns: Namespace
  processes: ProcessTable
  /** files envd wrote since the sandbox booted, by path, as its memory holds them (see memory.ts) */
  written: Map<string, string>
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

export type SandboxesOptions = { root: string; egressPorts: number[]; pathPrepend: string[]; templateFiles: Record<string, string> }

export class Sandboxes {
  private readonly all = new Map<string, Sandbox>()
  private readonly path: string

  constructor(private readonly opts: SandboxesOptions) {
    // `node` must be found inside, as the template would have it, wherever this Node lives.
    this.path = [...opts.pathPrepend, dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(delimiter)
    // The template's opencode folder, ready (on most machines) before the first sandbox is asked for.
    installedFolder()
  }

  /** A command as the template would run it: each of the template's files it names, at its place on this host. */
  templateCommand(config: ProcessConfig): ProcessConfig {
    const at = (arg: string) => Object.entries(this.opts.templateFiles).reduce((a, [inTemplate, onHost]) => a.replaceAll(inTemplate, onHost), arg)
    return { ...config, cmd: at(config.cmd), args: config.args?.map(at) }
  }

  get(id: string): Sandbox | undefined {
    return this.all.get(id)
  }

  list(): Sandbox[] {
    return [...this.all.values()]
  }

  /** `home`: the path the sandbox's processes see their home at, when not its own folder's (a fork's). */
  async create(input: CreateInput, home?: string): Promise<Sandbox> {
    const id = `i${randomBytes(10).toString('hex')}`
    const dir = join(this.opts.root, id)
    const hostHome = join(dir, 'home', USER)
    const runDir = join(dir, 'run')
    await mkdir(hostHome, { recursive: true })
    await mkdir(runDir, { recursive: true })
    // Commands run as `bash -l`, whose /etc/profile resets PATH; the template's profile sets it back.
    await writeFile(join(hostHome, '.bash_profile'), `export PATH='${this.path.replaceAll("'", `'\\''`)}'\n[ -f ~/.bashrc ] && . ~/.bashrc\n`)
    // The template's home; a copy of another home (createFrom) brings its own.
    if (home === undefined) await seedOpencodeConfig(hostHome)
    let ns: Namespace
    try {
      ns = await startNamespace(runDir, this.opts.egressPorts, home === undefined ? undefined : { folder: hostHome, over: home })
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
      home: home ?? hostHome,
      hostHome,
      runDir,
      state: 'running',
      startedAt: now,
      runningSince: now,
      endAt: now,
      ns,
      processes: new ProcessTable(),
      written: new Map(),
    }
    this.all.set(id, sb)
    // The anchor ending on its own (it should not) leaves a sandbox without a network: end it whole.
    ns.anchor.once('exit', () => void this.kill(sb))
    this.setTimeout(sb, input.timeoutS ?? DEFAULT_TIMEOUT_S)
    return sb
  }

  /**
   * A fork: a new sandbox of the same template, environment and traffic rules, its home (and so
   * its workspace) a copy of the original's as it stands, at the same path as in the original (a
   * mount namespace shows the copy there). E2B copies memory too; here processes stay behind,
   * which a fork's caller that ends the original's processes cannot tell apart.
   */
  async fork(original: Sandbox, timeoutS: number | undefined): Promise<Sandbox> {
    const input = {
      templateID: original.templateID,
      timeoutS,
      envs: original.envs,
      metadata: original.metadata,
      allowPublicTraffic: original.trafficAccessToken === undefined,
      allowInternetAccess: original.allowInternetAccess,
      autoPause: original.autoPause,
    }
    return this.createFrom(input, original.home, original.hostHome)
  }

  /**
   * A new sandbox whose home is a copy of `folder` (a sandbox's, a snapshot's), shown to its
   * processes at `home`, the path of the sandbox it came from (made again if that one is gone).
   */
  async createFrom(input: CreateInput, home: string, folder: string): Promise<Sandbox> {
    await mkdir(home, { recursive: true })
    const sb = await this.create(input, home)
    try {
      await run('cp', ['-a', '--reflink=auto', '--', `${folder}/.`, sb.hostHome])
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
    sb.timer = setTimeout(() => void (sb.autoPause ? this.pause(sb) : this.kill(sb)), seconds * 1000)
  }

  /** The environment of a process, in envd's order: basics, then the sandbox's envs, then the call's. */
  processEnv(sb: Sandbox, envs: Record<string, string> | undefined): Record<string, string> {
    return { PATH: this.path, HOME: sb.home, USER, LOGNAME: USER, ...sb.envs, ...envs }
  }

  /** A path as envd resolves it inside the sandbox: `~` is the home folder, relative paths start there. */
  insidePath(sb: Sandbox, path: string | undefined): string {
    if (!path || path === '~') return sb.home
    if (path.startsWith('~/')) return join(sb.home, path.slice(2))
    return isAbsolute(path) ? path : join(sb.home, path)
  }

  /** Where a path of the sandbox is on the host: its home is elsewhere in a fork, the rest is shared. */
  resolvePath(sb: Sandbox, path: string | undefined): string {
    const inside = this.insidePath(sb, path)
    if (inside === sb.home || inside.startsWith(`${sb.home}/`)) return sb.hostHome + inside.slice(sb.home.length)
    return inside
  }

  /**
   * Stops every process of the sandbox where it stands, their memory as it is; without memory (a
   * filesystem-only pause) ends them instead, so that the next resume boots afresh.
   */
  async pause(sb: Sandbox, keepMemory = true) {
    clearTimeout(sb.timer)
    sb.state = 'paused'
    if (keepMemory) this.signalAll(sb, 'SIGSTOP')
    else await dropMemory(sb)
  }

  /** `memory` false: booted afresh, whatever the pause kept. */
  async resume(sb: Sandbox, timeoutS: number | undefined, memory = true) {
    if (!memory) await dropMemory(sb)
    sb.state = 'running'
    sb.runningSince = new Date()
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
    await dropMemory(sb)
    sb.ns.close()
    // Killed processes may still be flushing files; rm retries through that.
    const gone = { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }
    // A fork's home is mounted over its original's folder: while a fork lives, that folder stays,
    // emptied (a removed mount point would take the fork's home away with it).
    const others = () => this.list().filter((other) => other !== sb && !other.ending)
    const mountedOver = (home: string) => others().some((other) => other.home === home && other.hostHome !== home)
    if (mountedOver(sb.hostHome)) {
      await rm(sb.runDir, gone)
      for (const entry of await readdir(sb.hostHome).catch(() => [])) await rm(join(sb.hostHome, entry), gone)
    } else {
      await rm(sb.dir, gone)
    }
    // The last fork of an original that has ended takes the original's emptied folder.
    const orphan = sb.home !== sb.hostHome && !others().some((other) => other.hostHome === sb.home)
    if (orphan && !mountedOver(sb.home)) await rm(join(sb.home, '..', '..'), gone)
    this.all.delete(sb.id)
  }

  async closeAll() {
    await Promise.all(this.list().map((sb) => this.kill(sb)))
  }

  private signalAll(sb: Sandbox, sig: 'SIGSTOP' | 'SIGCONT') {
    for (const p of sb.processes.list()) p.signal(sig)
    for (const pid of sandboxPids(sb)) signal(pid, sig)
  }
}
