import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, realpath, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve, type ServerType } from '@hono/node-server'
import { Hono } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import { HTTPException } from 'hono/http-exception'
import type { Socket } from 'node:net'
import { isAllowedHost } from '../src/lib/host'
import type { SandboxFile } from '../src/sandbox/provider'
import { cutRelay, holdRelay, startRelay, stopRelay, type Relay } from './fault-relay'
import { installedFolder, seedOpencodeConfig } from './opencode-config-folder'
import { freePort } from './ports'
import { copyTree, movePaths, sizeOf } from './sandbox-copies'
import { readInside, writeInside, writeStreamInside } from './sandbox-files'
import { claimRoot, forgetProcess, killGroup, reapSandboxes, recordProcess, releaseRoot, writeOwner } from './sandbox-processes'
import type { Server as HttpServer } from 'node:http'
import { outlastWorkerdKeepAlive } from './keep-alive'
import { acceptTerminals, SandboxTerminals, terminalSize, type TerminalRequest } from './sandbox-terminals'
import { SandboxPorts } from './sandbox-ports'

/**
 * The local sandbox host: sandboxes as local processes, for development and tests. Each sandbox
 * is a folder with its own workspace and home; its commands and its `opencode serve` run with
 * only the sandbox's environment, bound to 127.0.0.1 on a free port. The Worker reaches it
 * through src/sandbox/local.ts; the routes mirror the SandboxProvider seam one to one.
 */

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN_DIR = join(PROJECT_ROOT, 'node_modules', '.bin')
const LOCAL_HOSTS = '127.0.0.1,localhost'
/** Workspace snapshots live beside the sandboxes, in a folder no sandbox id can name. */
const SNAPSHOTS = 'snapshots'
const SNAPSHOT_ID = /^snap_[0-9a-f]{16}$/
/** Output kept from a command; more is cut, as a runaway build log must not fill memory. */
const MAX_OUTPUT = 1024 * 1024

type Sandbox = {
  id: string
  dir: string
  workdir: string
  home: string
  envs: Record<string, string>
  metadata: Record<string, string>
  opencode?: { proc: ChildProcess; url: string; exitCode?: number | null; relay?: Relay; exited: Promise<string> }
  running: Set<ChildProcess>
  /** shells on pseudo-terminals (GET /sandboxes/:id/terminal) */
  terminals: SandboxTerminals
  /** stopped where it stands (SIGSTOP), as E2B pauses a sandbox with its memory */
  paused: boolean
}

export type SandboxHostOptions = {
  root: string
  port?: number
  token?: string
  /**
   * For fault tests: put a TCP relay in front of each opencode, so that
   * `POST /sandboxes/:id/faults/cut` can sever every connection to it, as a network would, and
   * `POST /sandboxes/:id/faults/hold` can make it hold every request (`DELETE` ends the hold);
   * `POST /sandboxes/:id/faults/hang` makes this host leave the sandbox's calls unanswered
   * (`{"routes":["opencode"]}`: only those; `DELETE` answers them 503 and ends the hang).
   */
  faultInjection?: boolean
  /**
   * The network's own settings, in every sandbox's environment below the sandbox's own: a proxy,
   * as on a network that has one (tests send what would leave the machine to a recorder).
   */
  networkEnv?: Record<string, string>
  /**
   * opencode with Bun's whole JIT, as a long-lived sandbox runs it (E2B's): for benchmarks, whose
   * figures must be a deployment's. Otherwise the optimising tier is off (see SHORT_LIVED_BUN).
   */
  fullJit?: boolean
}

export type SandboxListing = { sandboxId: string; metadata: Record<string, string>; workdir: string; opencodePid?: number }

export type SandboxHost = {
  url: string
  /** refuses new sandboxes and processes from now on (503), as the stack begins to stop */
  stopAccepting(): void
  close(): Promise<void>
}


/** The agents of runtimes other than opencode, from this project's node_modules at its pinned versions. */
const ACP_AGENTS: Record<string, string[]> = {
  'claude-code': [process.execPath, join(PROJECT_ROOT, 'node_modules', '@zed-industries', 'claude-code-acp', 'dist', 'index.js')],
  codex: [process.execPath, join(PROJECT_ROOT, 'node_modules', '@zed-industries', 'codex-acp', 'bin', 'codex-acp.js')],
}

/** The command serving a sandbox's agent: opencode's own server, or the ACP bridge around the runtime's agent. */
function agentServer(runtime: string, port: number): string[] {
  if (runtime === 'opencode') return [join(BIN_DIR, 'opencode'), 'serve', '--hostname', '127.0.0.1', '--port', String(port)]
  const agent = ACP_AGENTS[runtime]
  if (!agent) throw new HTTPException(400, { message: `no agent for the runtime ${runtime} on this host` })
  return [process.execPath, join(PROJECT_ROOT, 'agents', 'acp-bridge.mjs'), String(port), ...agent]
}

/**
 * opencode is a Bun program. Bun's optimising JIT tier compiles opencode's start-up code on other
 * threads, about a sixth of a boot's CPU, for speed that a sandbox on this machine (a developer's
 * session, a test's) rarely lives long enough to use; the agent behaves the same without it.
 */
const SHORT_LIVED_BUN = { BUN_JSC_useDFGJIT: '0' }

/** The sandbox user's own environment: what a terminal's shell gets. */
function userEnv(sb: Sandbox): Record<string, string> {
  return {
    PATH: `${BIN_DIR}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOME: sb.home,
    XDG_CONFIG_HOME: join(sb.home, '.config'),
    XDG_DATA_HOME: join(sb.home, '.local', 'share'),
    XDG_STATE_HOME: join(sb.home, '.local', 'state'),
    XDG_CACHE_HOME: join(sb.home, '.cache'),
    GIT_TERMINAL_PROMPT: '0',
  }
}

/** What the agent's commands and opencode get: the user's environment and the sandbox's own (its secrets among them). */
function sandboxEnv(sb: Sandbox): NodeJS.ProcessEnv {
  return { ...userEnv(sb), ...sb.envs }
}


/** Ends a process and everything it started (it leads its own process group). */
function killTree(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return
  try {
    process.kill(-proc.pid, signal)
  } catch {
    proc.kill(signal)
  }
}

/** Every process of a sandbox, for signals that concern them all. */
function processesOf(sb: Sandbox): ChildProcess[] {
  return [...(sb.opencode ? [sb.opencode.proc] : []), ...sb.running]
}

/**
 * Records a process the moment it is spawned, and forgets it once it has exited. Every sandbox
 * process leads its own process group (detached), so that killing the group takes whatever it
 * started: opencode's tools, LSPs and shells.
 */
function track(sb: Sandbox, proc: ChildProcess) {
  if (proc.pid === undefined) return
  const pid = proc.pid
  recordProcess(dirname(sb.dir), sb.id, pid)
  proc.once('exit', () => forgetProcess(dirname(sb.dir), pid))
}

async function stopTree(proc: ChildProcess) {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  killTree(proc, 'SIGTERM')
  const timer = setTimeout(() => killTree(proc, 'SIGKILL'), 3_000)
  await exited
  clearTimeout(timer)
}

function exec(sb: Sandbox, command: string, cwd: string, timeoutMs: number) {
  return new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve) => {
    const proc = spawn('bash', ['-c', command], { cwd, env: sandboxEnv(sb), detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    track(sb, proc)
    sb.running.add(proc)
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-MAX_OUTPUT)))
    proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-MAX_OUTPUT)))
    const timer = timeoutMs > 0 ? setTimeout(() => killTree(proc, 'SIGKILL'), timeoutMs) : undefined
    proc.on('error', (err) => {
      stderr += String(err)
    })
    proc.on('close', (code, signal) => {
      clearTimeout(timer)
      sb.running.delete(proc)
      resolve({ exitCode: code ?? (signal ? 128 + 9 : 1), stdout, stderr })
    })
  })
}

export async function startSandboxHost(opts: SandboxHostOptions): Promise<SandboxHost> {
  const sandboxes = new Map<string, Sandbox>()
  const app = new Hono()

  await mkdir(opts.root, { recursive: true })
  const root = await realpath(opts.root)
  // Ready, on most machines, before the first sandbox is asked for.
  installedFolder()
  const owner = claimRoot(root)
  // What a host on this root left running when it died (SIGKILL, a crash, its watchdog killed too).
  reapSandboxes(root)
  const watchdog = startWatchdog(root)
  writeOwner(root, { ...owner, watchdogPid: watchdog.pid })
  // A host that ends without close() (process.exit, an uncaught exception) kills its sandboxes
  // on its way out; signals that end it unhandled, and SIGKILL, are the watchdog's.
  const onExit = () => reapSandboxes(root)
  process.on('exit', onExit)
  /** Once set, nothing new starts: what would start now would outlive the host, or be killed at once. */
  let closing = false
  /** Sandboxes whose files are being put in place (see POST /sandboxes). */
  const creating = new Set<Promise<void>>()
  const refuseWhenClosing = () => {
    if (closing) throw new HTTPException(503, { message: 'the sandbox host is shutting down' })
  }

  app.onError((err, c) => {
    const status = err instanceof HTTPException ? err.status : 500
    const code = status === 404 ? 'not_found' : status === 503 ? 'unavailable' : 'failed'
    return c.json({ error: { code, message: err.message } }, status)
  })
  // Only the Worker on this machine calls; a page rebinding its own name to 127.0.0.1 gets nothing.
  app.use('*', async (c, next) => {
    if (!isAllowedHost(c.req.header('host'), LOCAL_HOSTS)) throw new HTTPException(403, { message: 'this host answers to 127.0.0.1 and localhost only' })
    await next()
  })
  if (opts.token) app.use('*', bearerAuth({ token: opts.token }))

  /** Calls to a sandbox that the host leaves unanswered, as a host that hangs would: by sandbox, the routes (all when none named) and the calls waiting. */
  const hangs = new Map<string, { routes: string[] | undefined; waiting: Set<() => void> }>()
  const endHang = (id: string) => {
    const hang = hangs.get(id)
    hangs.delete(id)
    for (const release of hang?.waiting ?? []) release()
  }
  if (opts.faultInjection) {
    app.use('/sandboxes/:id/*', async (c, next) => {
      const hang = hangs.get(c.req.param('id')!)
      // The route's first segment after the id; '' for the sandbox itself (its status, its delete).
      const route = c.req.path.split('/')[3] ?? ''
      if (hang && route !== 'faults' && (!hang.routes || hang.routes.includes(route))) {
        await new Promise<void>((release) => hang.waiting.add(release))
        throw new HTTPException(503, { message: 'this call was held by a fault switch' })
      }
      await next()
    })
  }

  /** What runs, for people and tests that want to look; a local host has nothing to hide from its owner. */
  const list = (): SandboxListing[] =>
    [...sandboxes.values()].map((sb) => ({
      sandboxId: sb.id,
      metadata: sb.metadata,
      workdir: sb.workdir,
      ...(sb.opencode?.proc.pid !== undefined && sb.opencode.exitCode === undefined && { opencodePid: sb.opencode.proc.pid }),
    }))

  const find = (id: string) => {
    const sb = sandboxes.get(id)
    if (!sb) throw new HTTPException(404, { message: `no sandbox ${id}` })
    return sb
  }

  const snapshotDir = (snapshotId: string) => {
    if (!SNAPSHOT_ID.test(snapshotId)) throw new HTTPException(404, { message: 'no such snapshot' })
    return join(root, SNAPSHOTS, snapshotId)
  }

  /** A sandbox that can run something now; a paused one must be resumed first, as in E2B. */
  const findRunning = (id: string) => {
    const sb = find(id)
    if (sb.paused) throw new HTTPException(409, { message: `sandbox ${id} is paused` })
    return sb
  }

  app.post('/sandboxes', async (c) => {
    refuseWhenClosing()
    const body = await c.req.json<{ envs?: Record<string, string>; metadata?: Record<string, string>; snapshotId?: string; forkOf?: string }>()
    const snapshot = body.snapshotId === undefined ? undefined : snapshotDir(body.snapshotId)
    const original = body.forkOf === undefined ? undefined : find(body.forkOf)
    const id = `sbx_${randomBytes(8).toString('hex')}`
    // Real, as every path it is compared with is resolved through links.
    const dir = join(root, id)
    const sb: Sandbox = {
      id,
      dir,
      workdir: join(dir, 'workspace'),
      home: join(dir, 'home'),
      envs: { ...opts.networkEnv, ...body.envs },
      metadata: body.metadata ?? {},
      running: new Set(),
      terminals: new SandboxTerminals(
        (pid) => recordProcess(root, id, pid),
        (pid) => forgetProcess(root, pid),
      ),
      paused: false,
    }
    // Tracked, so that close waits for it: the client may hang up while files are still being
    // copied in, and nothing may write into the root once close has returned.
    const preparing = (async () => {
      if (original) {
        // A fork: the workspace and the home (opencode's database and file snapshots) as they stand; processes stay behind.
        await mkdir(dir)
        try {
          await copyTree(original.workdir, sb.workdir)
          await copyTree(original.home, sb.home)
          await movePaths(join(sb.home, '.local', 'share', 'opencode', 'opencode.db'), original.dir, sb.dir)
        } catch (err) {
          await rm(dir, { recursive: true, force: true })
          throw new HTTPException(500, { message: `the sandbox could not be copied: ${(err as Error).message}` })
        }
      } else {
        await mkdir(sb.home, { recursive: true })
        await seedOpencodeConfig(sb.home)
        if (snapshot) await copyTree(snapshot, sb.workdir).catch(() => {
          throw new HTTPException(404, { message: `no snapshot ${body.snapshotId}` })
        })
        else await mkdir(sb.workdir, { recursive: true })
      }
      if (closing) {
        await rm(dir, { recursive: true, force: true })
        refuseWhenClosing()
      }
    })()
    creating.add(preparing)
    try {
      await preparing
    } finally {
      creating.delete(preparing)
    }
    sandboxes.set(id, sb)
    return c.json({ sandboxId: id, workdir: sb.workdir, home: sb.home }, 201)
  })

  app.get('/sandboxes', (c) => c.json(list()))

  /** Each sandbox's agent server listens for the Worker, not for a preview. */
  const agentPids = () => new Set([...sandboxes.values()].flatMap((sb) => (sb.opencode?.proc.pid === undefined ? [] : [sb.opencode.proc.pid])))
  const ports = new SandboxPorts(root, agentPids)

  /** The ports the sandbox's own processes listen on; with `differentFrom=3000,5173`, once they differ from those (or 25 s pass). */
  app.get('/sandboxes/:id/ports', async (c) => {
    const sb = findRunning(c.req.param('id'))
    const known = c.req.query('differentFrom')
    if (known === undefined) return c.json({ ports: ports.now(sb.id) })
    const differentFrom = known.split(',').filter(Boolean).map(Number)
    return c.json({ ports: await ports.watch(sb.id, differentFrom, c.req.raw.signal) })
  })

  app.get('/sandboxes/:id', (c) => {
    const sb = find(c.req.param('id'))
    const oc = sb.opencode
    const opencode = !oc ? 'not_started' : oc.exitCode === undefined ? 'running' : 'exited'
    return c.json({ sandboxId: sb.id, opencode, paused: sb.paused })
  })

  app.post('/sandboxes/:id/pause', (c) => {
    const sb = find(c.req.param('id'))
    if (!sb.paused) {
      for (const proc of processesOf(sb)) killTree(proc, 'SIGSTOP')
      sb.terminals.signal('SIGSTOP')
    }
    sb.paused = true
    return c.body(null, 204)
  })

  app.post('/sandboxes/:id/resume', (c) => {
    const sb = find(c.req.param('id'))
    if (sb.paused) {
      for (const proc of processesOf(sb)) killTree(proc, 'SIGCONT')
      sb.terminals.signal('SIGCONT')
    }
    sb.paused = false
    return c.body(null, 204)
  })

  app.post('/sandboxes/:id/exec', async (c) => {
    const sb = findRunning(c.req.param('id'))
    const body = await c.req.json<{ command: string; cwd?: string; timeoutMs?: number }>()
    refuseWhenClosing()
    return c.json(await exec(sb, body.command, body.cwd ?? sb.workdir, body.timeoutMs ?? 60_000))
  })

  app.get('/sandboxes/:id/files', async (c) => c.json(await readInside(find(c.req.param('id')).dir, c.req.query('path') ?? '')))

  app.post('/sandboxes/:id/files', async (c) => {
    const sb = findRunning(c.req.param('id'))
    await writeInside(sb.dir, (await c.req.json<{ files: SandboxFile[] }>()).files)
    return c.body(null, 204)
  })

  app.put('/sandboxes/:id/files', async (c) => {
    const sb = findRunning(c.req.param('id'))
    await writeStreamInside(sb.dir, c.req.query('path') ?? '', c.req.raw.body ?? new ReadableStream())
    return c.body(null, 204)
  })

  app.post('/sandboxes/:id/opencode', async (c) => {
    const sb = findRunning(c.req.param('id'))
    const body = await c.req.json<{ cwd?: string; runtime?: string }>()
    if (sb.opencode && sb.opencode.exitCode === undefined) return c.json({ url: sb.opencode.url })
    const port = await freePort()
    refuseWhenClosing()
    const [command, ...args] = agentServer(body.runtime ?? 'opencode', port)
    const proc = spawn(command!, args, {
      cwd: body.cwd ?? sb.workdir,
      env: { ...sandboxEnv(sb), ...(!opts.fullJit && SHORT_LIVED_BUN) },
      detached: true,
      stdio: 'ignore',
    })
    track(sb, proc)
    const relay = opts.faultInjection ? await startRelay(port) : undefined
    let exited!: (how: string) => void
    const record: NonNullable<Sandbox['opencode']> = {
      proc,
      url: `http://127.0.0.1:${relay?.port ?? port}`,
      relay,
      exited: new Promise((resolve) => (exited = resolve)),
    }
    stopRelay(sb.opencode?.relay)
    proc.on('exit', (code, signal) => {
      record.exitCode = code
      exited(signal ? `opencode was ended by ${signal}` : `opencode exited with code ${code}`)
    })
    proc.on('error', (err) => {
      record.exitCode = -1
      exited(`opencode could not run: ${err.message}`)
    })
    sb.opencode = record
    return c.json({ url: record.url })
  })

  /** Answers when the sandbox's opencode exits, as E2B's envd ends a process's stream with its end. */
  app.get('/sandboxes/:id/opencode/exit', async (c) => {
    const oc = find(c.req.param('id')).opencode
    return c.json({ exit: oc ? await oc.exited : 'opencode is not running' })
  })

  /**
   * A copy of the workspace as it stands, taken before opencode starts: a real copy (copy-on-write
   * where the filesystem can), never hard links, so that no session's writes reach the snapshot.
   */
  app.post('/sandboxes/:id/snapshot', async (c) => {
    const sb = findRunning(c.req.param('id'))
    refuseWhenClosing()
    const snapshotId = `snap_${randomBytes(8).toString('hex')}`
    const dir = join(root, SNAPSHOTS, snapshotId)
    await mkdir(join(root, SNAPSHOTS), { recursive: true })
    try {
      await copyTree(sb.workdir, dir)
      return c.json({ snapshotId, sizeBytes: await sizeOf(dir) }, 201)
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw new HTTPException(500, { message: `the workspace could not be copied: ${(err as Error).message}` })
    }
  })

  app.delete('/snapshots/:id', async (c) => {
    const dir = snapshotDir(c.req.param('id'))
    if (!(await lstat(dir).catch(() => undefined))) throw new HTTPException(404, { message: `no snapshot ${c.req.param('id')}` })
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
    return c.body(null, 204)
  })

  const relayOf = (id: string) => {
    const relay = find(id).opencode?.relay
    if (!relay) throw new HTTPException(404, { message: 'fault injection is off, or opencode is not running' })
    return relay
  }

  /** `cut`: connections severed; `connections`: connections the relay has accepted in all, so a test can see a reconnect. */
  app.post('/sandboxes/:id/faults/cut', (c) => {
    const relay = relayOf(c.req.param('id'))
    return c.json({ cut: cutRelay(relay), connections: relay.connections })
  })

  app.get('/sandboxes/:id/faults/relay', (c) => {
    const relay = relayOf(c.req.param('id'))
    return c.json({ connections: relay.connections, port: relay.port })
  })

  app.post('/sandboxes/:id/faults/hold', (c) => {
    holdRelay(relayOf(c.req.param('id')), true)
    return c.body(null, 204)
  })

  app.delete('/sandboxes/:id/faults/hold', (c) => c.json({ held: holdRelay(relayOf(c.req.param('id')), false) }))

  app.post('/sandboxes/:id/faults/hang', async (c) => {
    if (!opts.faultInjection) throw new HTTPException(404, { message: 'fault injection is off' })
    const id = find(c.req.param('id')).id
    const body = await c.req.json<{ routes?: string[] }>().catch(() => ({}) as { routes?: string[] })
    endHang(id)
    hangs.set(id, { routes: body.routes, waiting: new Set() })
    return c.body(null, 204)
  })

  app.delete('/sandboxes/:id/faults/hang', (c) => {
    endHang(c.req.param('id'))
    return c.body(null, 204)
  })

  /** Ends a sandbox: asked to stop with SIGTERM when deleted, killed outright when the host shuts down. */
  const destroy = async (sb: Sandbox, now = false) => {
    sandboxes.delete(sb.id)
    stopRelay(sb.opencode?.relay)
    sb.terminals.closeAll()
    const procs = processesOf(sb)
    if (now) {
      const live = procs.filter((proc) => proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null)
      const exited = Promise.all(live.map((proc) => new Promise((r) => proc.once('exit', r))))
      for (const proc of live) killGroup(proc.pid!)
      await exited
    } else {
      // A stopped process acts on SIGTERM only once it runs again.
      if (sb.paused) for (const proc of procs) killTree(proc, 'SIGCONT')
      await Promise.all(procs.map(stopTree))
    }
    // Processes that were just killed may still be flushing files; rm retries through that.
    await rm(sb.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  }

  app.delete('/sandboxes/:id', async (c) => {
    await destroy(find(c.req.param('id')))
    return c.body(null, 204)
  })

  /** A terminal upgrade, checked as the routes are: this machine's host names, the token, a running sandbox; its folder inside the sandbox's. */
  const terminalRequest: TerminalRequest = (req) => {
    if (!isAllowedHost(req.headers.host, LOCAL_HOSTS)) return { status: 403, message: 'this host answers to 127.0.0.1 and localhost only' }
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) return { status: 401, message: 'unauthorized' }
    const url = new URL(req.url ?? '/', 'http://host')
    const id = /^\/sandboxes\/([^/]+)\/terminal$/.exec(url.pathname)?.[1]
    const sb = id === undefined ? undefined : sandboxes.get(decodeURIComponent(id))
    if (!sb) return { status: 404, message: 'no such sandbox' }
    if (sb.paused) return { status: 409, message: `sandbox ${sb.id} is paused` }
    if (closing) return { status: 503, message: 'the sandbox host is shutting down' }
    const size = terminalSize(Number(url.searchParams.get('cols')), Number(url.searchParams.get('rows')))
    if (!size) return { status: 400, message: 'cols and rows must be whole numbers from 1 to 1000' }
    const asked = url.searchParams.get('cwd') ?? sb.workdir
    const cwd = asked === sb.dir || asked.startsWith(`${sb.dir}/`) ? asked : sb.workdir
    return { terminals: sb.terminals, spawn: { cwd, env: { ...userEnv(sb), TERM: 'xterm-256color' }, ...size } }
  }

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: opts.port ?? 0 }, () => resolve(s))
    // serve() without TLS or HTTP/2 options makes a plain http.Server.
    outlastWorkerdKeepAlive(s as HttpServer)
  })
  acceptTerminals(server, terminalRequest)
  const { port } = server.address() as { port: number }

  return {
    url: `http://127.0.0.1:${port}`,
    stopAccepting: () => {
      closing = true
    },
    close: async () => {
      closing = true
      await Promise.allSettled([...creating])
      ports.close()
      for (const id of [...hangs.keys()]) endHang(id)
      await Promise.all([...sandboxes.values()].map((sb) => destroy(sb, true)))
      // What escaped its group (a tool that called setsid) and outlived its sandbox's processes.
      reapSandboxes(root)
      process.off('exit', onExit)
      releaseRoot(root)
      watchdog.stdin!.end()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The host's watchdog (local/sandbox-watchdog.ts), in a session and process group of its own, holding the only pipe from this process. */
function startWatchdog(root: string): ChildProcess {
  const watchdog = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'local', 'sandbox-watchdog.ts'), root, String(process.pid)], {
    cwd: PROJECT_ROOT,
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  // Neither it nor its pipe keeps this process alive: its end is what the watchdog waits for.
  watchdog.unref()
  ;(watchdog.stdin as Socket).unref()
  return watchdog
}
