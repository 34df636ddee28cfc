import { modelProviderConfig } from '../local/model-server'
import { QUIET_BOOT_ENV } from '../src/opencode/config'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { PROJECT_ROOT } from '../local/stack'
import { exitedChildrenCpuMs, treeCpuMs } from './lib/procs'
import { agentClient, waitForOpencode } from '../src/opencode/client'
import { LocalSandboxProvider } from '../src/sandbox/local'
import { DEFAULT_TIMINGS } from '../src/config/timings'
import { isIdle, readEvents, type Arrival } from './lib/sse'
import { call, endSession, KEY, type BenchStack } from './lib/stack'
import { now, quantile, sleep } from './lib/stats'
import { newId } from '../src/lib/ids'

export const START_SAMPLES = 5
/** Warm starts are short and noisy on a shared machine: more of them, each after the pool has one ready. */
export const WARM_START_SAMPLES = 15

/**
 * Where a start's time goes, median milliseconds per step: each from the previous one, by the
 * `at` the session stamped on its events (the Durable Object's clock, the machine's) and the
 * client's own clock for sending, the answer and the arrival.
 */
export type StartSteps = {
  /** POST sent → `session.status` starting: the route, the session's first load, tenant admission */
  admitted: number
  /** POST sent → its 201 answer (overlaps the steps after it) */
  answered: number
  /** admitted → `sandbox.status` starting/warm: the pool's take */
  taken: number
  /** taken → `sandbox.status` ready: what runs before the session says it is ready (a cold start's agent, a warm one's nothing) */
  ready: number
  /** ready → `session.status` idle */
  idle: number
  /** taken → the start's work ended (its `sandbox.work` log line read): the agent attached, its session and event subscription */
  attached: number
  /** idle stamped → idle read by the client on the stream (opened once the POST answered) */
  seen: number
}

export type StartResult = {
  warmPoolSize: string
  samples: number
  /** POST sent → the client knows the session is idle: the POST's answer when it says so, else the stream's event */
  p50: number
  p95: number
  /** POST sent → idle read on the stream the client opens after the answer */
  seenP50: number
  seenP95: number
  /** starts whose POST answer said `idle` already */
  answeredIdle: number
  /** sessions whose sandbox came from the warm pool (`sandbox.status` starting, reason `warm`) */
  fromPool: number
  steps: StartSteps
  /** p50 of a GET of the idle session: one round trip through the proxy, the Worker and the session, the floor under `answered` */
  getMs: number
  /** p50 of a GET of a session id never used: the round trip with a new session object's first load (its storage set up) */
  freshMs: number
}

/**
 * When each session's start work ended, from the `sandbox.work` lines the Worker logs (read as
 * they arrive: the attach has no event of its own, it goes on after `idle`).
 */
export class StartWorkLog {
  private partial = ''
  private readonly ended = new Map<string, number>()

  readonly onLog = (chunk: string) => {
    const lines = (this.partial + chunk).split('\n')
    this.partial = lines.pop() ?? ''
    const at = now()
    for (const line of lines) {
      const json = line.slice(line.indexOf('{'))
      if (!json.includes('"sandbox.work"')) continue
      try {
        const entry = JSON.parse(json) as { event?: string; work?: string; state?: string; sessionId?: string }
        if (entry.work === 'provision' && entry.state === 'ended' && entry.sessionId) this.ended.set(entry.sessionId, at)
      } catch {
        // a line that only looks like one: not ours
      }
    }
  }

  /** When the start work of `sessionId` was seen to end, waiting a moment for the line. */
  async endOf(sessionId: string, waitMs = 5_000): Promise<number> {
    const deadline = now() + waitMs
    while (!this.ended.has(sessionId) && now() < deadline) await sleep(20)
    return this.ended.get(sessionId) ?? NaN
  }
}

/** What GET /health says of the warm pool, if it says anything. */
async function poolReady(stack: BenchStack): Promise<number | undefined> {
  const health = (await (await fetch(`${stack.url}/health`)).json()) as { warmPool?: { ready: number } }
  return health.warmPool?.ready
}

/** Wait (up to `timeoutMs`) for the pool to hold `n` ready sandboxes, if the stack has a pool at all; true once it does. */
async function waitForPool(stack: BenchStack, n = 1, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ready = await poolReady(stack)
    if (ready === undefined || ready >= n) return true
    await sleep(200)
  }
  return false
}

type OneStart = { total: number; seenTotal: number; answeredIdle: boolean; warm: boolean; marks: StartSteps; getMs: number; freshMs: number }

/** One session from POST to the first idle on its stream, with the time of each step; ended after. */
async function timedStart(stack: BenchStack, work?: StartWorkLog): Promise<OneStart> {
  const t0 = now()
  const { id, status } = await call(stack, '/v1/sessions', {})
  const answered = now()
  try {
    const events = await readEvents(stack.url, id as string, {
      after: 0,
      done: isIdle,
      keep: (e) => e.event === 'sandbox.status' || e.event === 'session.status',
      timeoutMs: 180_000,
    })
    const stamp = (pick: (e: Arrival) => boolean) => {
      const e = events.find(pick)
      return e ? Date.parse(e.data.at as string) : NaN
    }
    const idle = events.at(-1)!
    const admittedAt = stamp((e) => e.event === 'session.status' && e.data.status === 'starting')
    const takenAt = stamp((e) => e.event === 'sandbox.status' && e.data.state === 'starting' && e.data.reason === 'warm')
    const readyAt = stamp((e) => e.event === 'sandbox.status' && e.data.state === 'ready')
    const idleAt = Date.parse(idle.data.at as string)
    const attachedAt = work ? await work.endOf(id as string) : NaN
    const get0 = now()
    await call(stack, `/v1/sessions/${id as string}`)
    const fresh0 = now()
    await fetch(`${stack.url}/v1/sessions/${newId('ses')}`, { headers: { authorization: `Bearer ${KEY}` } }).then((res) => res.body?.cancel())
    const freshMs = now() - fresh0
    const answeredIdle = status === 'idle'
    return {
      getMs: fresh0 - get0,
      freshMs,
      total: answeredIdle ? answered - t0 : idle.at - t0,
      seenTotal: idle.at - t0,
      answeredIdle,
      warm: Number.isFinite(takenAt),
      marks: {
        admitted: admittedAt - t0,
        answered: answered - t0,
        taken: takenAt - admittedAt,
        ready: readyAt - takenAt,
        idle: idleAt - readyAt,
        attached: attachedAt - takenAt,
        seen: idle.at - idleAt,
      },
    }
  } finally {
    await endSession(stack, id as string)
  }
}

function summarize(warmPoolSize: string, starts: OneStart[]): StartResult {
  const times = starts.map((s) => s.total)
  const seen = starts.map((s) => s.seenTotal)
  const step = (k: keyof StartSteps) => quantile(starts.map((s) => s.marks[k]).filter(Number.isFinite), 0.5)
  return {
    warmPoolSize,
    samples: starts.length,
    p50: quantile(times, 0.5),
    p95: quantile(times, 0.95),
    seenP50: quantile(seen, 0.5),
    seenP95: quantile(seen, 0.95),
    answeredIdle: starts.filter((s) => s.answeredIdle).length,
    fromPool: starts.filter((s) => s.warm).length,
    getMs: quantile(starts.map((s) => s.getMs), 0.5),
    freshMs: quantile(starts.map((s) => s.freshMs), 0.5),
    steps: {
      admitted: step('admitted'),
      answered: step('answered'),
      taken: step('taken'),
      ready: step('ready'),
      idle: step('idle'),
      attached: step('attached'),
      seen: step('seen'),
    },
  }
}

/**
 * Session start: POST /v1/sessions to its first `session.status` idle, one session after
 * another, each ended before the next. The row shows the stack's WARM_POOL_SIZE.
 */
export async function startBenchmark(stack: BenchStack, samples = START_SAMPLES, work?: StartWorkLog): Promise<StartResult> {
  const warmPoolSize = stack.settings.WARM_POOL_SIZE ?? '(unset)'
  const warm = Number(warmPoolSize) > 0
  const starts: OneStart[] = []
  for (let i = 0; i < samples; i++) {
    if (warm) await waitForPool(stack)
    starts.push(await timedStart(stack, work))
  }
  return summarize(warmPoolSize, starts)
}

export const BURST = 10

export type BurstResult = StartResult & {
  /** how many sandboxes the pool held when the burst came */
  readyBefore: number
  /** how many it held the moment the last of the burst was idle */
  readyAfter: number
  /** from the burst's last idle until the pool held `readyBefore` again; NaN if not within the wait */
  refillMs: number
}

/**
 * A burst: BURST sessions created at the same moment on a stack whose pool holds that many,
 * each timed to its first idle; then how long the pool takes to be full again.
 */
export async function burstBenchmark(stack: BenchStack, n = BURST, refillWaitMs = 300_000): Promise<BurstResult> {
  const warmPoolSize = stack.settings.WARM_POOL_SIZE ?? '(unset)'
  await waitForPool(stack, Number(warmPoolSize), 600_000)
  // Let the last refill's boot settle before the burst, so the burst meets a quiet pool.
  await sleep(3_000)
  const readyBefore = (await poolReady(stack)) ?? 0
  const starts = await Promise.all(Array.from({ length: n }, () => timedStart(stack)))
  const done = now()
  const readyAfter = (await poolReady(stack)) ?? 0
  const refilled = await waitForPool(stack, readyBefore, refillWaitMs)
  return { ...summarize(warmPoolSize, starts), readyBefore, readyAfter, refillMs: refilled ? now() - done : NaN }
}

/**
 * Each step from the one before, p50: made (sandbox and a baseline commit), serving (health
 * answered), a first session; opencode's CPU up to serving and up to its first session.
 */
export type BootVariant = { samples: number; p50: number; p95: number; made: number; serving: number; session: number; cpuServingMs: number; cpuMs: number }
/**
 * `quiet`: as sessions' sandboxes start opencode (QUIET_BOOT_ENV); `plain`: without it, as before.
 * `load`: the binary's own start, `opencode --version` (p50 wall and CPU): what any boot pays before its init.
 */
export type BootResult = { quiet: BootVariant; plain: BootVariant; load: { wallMs: number; cpuMs: number } }

type OneBoot = { total: number; made: number; serving: number; session: number; cpuServingMs: number; cpuMs: number }

const OPENCODE_BIN = join(PROJECT_ROOT, 'node_modules', '.bin', 'opencode')

/** The binary loaded, its runtime and bundle started, and nothing else: `opencode --version`, wall and CPU. */
function binaryLoad(): { wallMs: number; cpuMs: number } {
  const cpu0 = exitedChildrenCpuMs()
  const t0 = now()
  const run = spawnSync(OPENCODE_BIN, ['--version'], { env: { ...process.env, ...QUIET_BOOT_ENV }, stdio: 'ignore' })
  if (run.status !== 0) throw new Error(`opencode --version exited with ${run.status}`)
  return { wallMs: now() - t0, cpuMs: exitedChildrenCpuMs() - cpu0 }
}

/**
 * opencode's own boot, without the Worker: straight through the local sandbox host, a sandbox
 * made, a baseline commit, `opencode serve` started with a session's configuration, its health
 * answered and its first session created. What a cold session start cannot do without. Rounds
 * alternate with and without what sandboxes set to skip opencode's network work (QUIET_BOOT_ENV);
 * the CPU is opencode's (and what it started) up to its first session.
 */
export async function opencodeBootBenchmark(stack: BenchStack, samples = START_SAMPLES): Promise<BootResult> {
  const provider = new LocalSandboxProvider(stack.sandboxHostUrl, stack.sandboxHostToken)
  const password = 'bench-password'
  const envs = {
    OPENCODE_SERVER_PASSWORD: password,
    OPENCODE_CONFIG_CONTENT: JSON.stringify(modelProviderConfig(stack.model!.url, stack.modelKey)),
    OPENCODE_ENABLE_QUESTION_TOOL: '1',
  }
  const opencodePid = async (sandboxId: string) => {
    const res = await fetch(`${stack.sandboxHostUrl}/sandboxes`, { headers: { authorization: `Bearer ${stack.sandboxHostToken}` } })
    const listing = (await res.json()) as { sandboxId: string; opencodePid?: number }[]
    return listing.find((s) => s.sandboxId === sandboxId)?.opencodePid
  }
  const boot = async (env: Record<string, string>): Promise<OneBoot> => {
    const t0 = now()
    const sb = await provider.create({ envs: env, metadata: { bench: 'boot' } })
    try {
      await provider.exec(sb.sandboxId, 'git init -q && git -c user.name=b -c user.email=b@b commit -q --allow-empty -m base', { cwd: sb.workdir })
      const made = now()
      const endpoint = await provider.startOpencode(sb.sandboxId, { cwd: sb.workdir })
      await waitForOpencode(endpoint, password)
      const serving = now()
      const pid = await opencodePid(sb.sandboxId)
      const cpuServingMs = pid === undefined ? NaN : treeCpuMs(pid)
      const created = await agentClient(endpoint, password, sb.workdir, { timeoutMs: DEFAULT_TIMINGS.agentCallMs }).session.create({})
      if (!created.data) throw new Error('opencode did not create a session')
      const session = now()
      return { total: session - t0, made: made - t0, serving: serving - made, session: session - serving, cpuServingMs, cpuMs: pid === undefined ? NaN : treeCpuMs(pid) }
    } finally {
      await provider.kill(sb.sandboxId)
    }
  }
  const quiet: OneBoot[] = []
  const plain: OneBoot[] = []
  const loads: { wallMs: number; cpuMs: number }[] = []
  for (let i = 0; i < samples; i++) {
    quiet.push(await boot({ ...envs, ...QUIET_BOOT_ENV }))
    plain.push(await boot(envs))
    loads.push(binaryLoad())
  }
  const variant = (boots: OneBoot[]): BootVariant => {
    const p50 = (pick: (b: OneBoot) => number) => quantile(boots.map(pick), 0.5)
    return {
      samples: boots.length,
      p50: p50((b) => b.total),
      p95: quantile(boots.map((b) => b.total), 0.95),
      made: p50((b) => b.made),
      serving: p50((b) => b.serving),
      session: p50((b) => b.session),
      cpuServingMs: p50((b) => b.cpuServingMs),
      cpuMs: p50((b) => b.cpuMs),
    }
  }
  const load = { wallMs: quantile(loads.map((l) => l.wallMs), 0.5), cpuMs: quantile(loads.map((l) => l.cpuMs), 0.5) }
  return { quiet: variant(quiet), plain: variant(plain), load }
}
