import { cpuMsOf, machineCpuMs, nodeCpuMs, opencodeProcessesUnder, rssOf, workerdCpuMs, workerdMemory } from './lib/procs'
import { call, endSession, idleSession, script, type BenchStack } from './lib/stack'
import { now, quantile, sleep } from './lib/stats'

/** Each session runs its own opencode, and the 2 cores are shared by all of them, the Worker, the model and the clients. */
export const CONCURRENCY_LEVELS = [1, 2, 4, 6, 8, 10, 12]
/** At least this many rounds per level, and at least this many turns: a p99 of a lone session needs a dozen. */
const MIN_ROUNDS = 2
const MIN_TURNS = 12
/** Sessions are started this many at a time: twelve opencode boots at once on two cores take minutes. */
const START_BATCH = 4
/** A modest turn: 500 pieces, paced at about one a millisecond. */
const PROMPT = script({ reply: 'x'.repeat(500), chunks: 500, delayMs: 1 })

export type ConcurrencyLevel = {
  sessions: number
  turns: number
  /** turns that failed instead of replying (not in the times) */
  failed: number
  /** the first failure's message */
  failure?: string
  p50: number
  p99: number
  max: number
  /** turns completed per second over the level */
  turnsPerSecond: number
  /**
   * cores in use over the level (CPU time over wall time): the whole machine, workerd, the
   * sessions' opencodes, wrangler's own Node process, and this process (the clients, the scripted
   * model and the sandbox host)
   */
  cores: { machine: number; workerd: number; opencode: number; wrangler: number; bench: number }
}

export type ConcurrencyResult = {
  levels: ConcurrencyLevel[]
  sessions: number
  /** workerd's resident memory with no session, and after every session had run its turns */
  workerdRssBefore: number
  workerdRssAfter: number
  /** the resident memory of each session's `opencode serve`, after its turns */
  opencodeRss: number[]
}

async function settled(stack: BenchStack, id: string) {
  for (;;) {
    const s = await call(stack, `/v1/sessions/${id}`)
    if (s.status === 'idle' && s.queued === 0) return
    await sleep(200)
  }
}

/** A turn's time to its reply; one that failed (the agent lost mid-turn, as happens on a saturated machine) is counted, not timed. */
async function turn(stack: BenchStack, id: string): Promise<number | Error> {
  const t0 = now()
  try {
    const res = await call(stack, `/v1/sessions/${id}/messages?wait=true&timeout=300`, { text: PROMPT })
    if (res.reply?.text === undefined) return new Error(`turn of ${id} answered without a reply: ${JSON.stringify(res).slice(0, 200)}`)
    return now() - t0
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err))
  }
}

/** What to read before and after a level to tell who used the cores. */
function cpuMark(opencodePids: number[]) {
  const usage = process.cpuUsage()
  return {
    at: now(),
    machine: machineCpuMs(),
    workerd: workerdCpuMs(),
    opencode: cpuMsOf(opencodePids),
    wrangler: nodeCpuMs(),
    bench: (usage.user + usage.system) / 1000,
  }
}

function coresBetween(a: ReturnType<typeof cpuMark>, b: ReturnType<typeof cpuMark>, cores: number) {
  const wall = b.at - a.at
  const machineShare = (b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)
  return {
    machine: machineShare * cores,
    workerd: (b.workerd - a.workerd) / wall,
    opencode: (b.opencode - a.opencode) / wall,
    wrangler: (b.wrangler - a.wrangler) / wall,
    bench: (b.bench - a.bench) / wall,
  }
}

/** Idle opencodes below this many cores in all count as settled. */
const QUIET_CORES = 0.2
const QUIET_WAIT_MS = 120_000

/**
 * Waits (up to two minutes) until the opencodes use less than QUIET_CORES over two seconds: after
 * their first turns they keep working for a while (titles, snapshots), and a level measured then
 * would count their work as its own.
 */
async function quiet(opencodePids: number[]) {
  const deadline = now() + QUIET_WAIT_MS
  for (;;) {
    const before = cpuMark(opencodePids)
    await sleep(2_000)
    if (coresBetween(before, cpuMark(opencodePids), 1).opencode < QUIET_CORES || now() > deadline) return
  }
}

/**
 * Concurrency: N sessions each completing a turn at the same moment, N growing. The sessions
 * are started (and given one unmeasured turn) up front, then left to settle; level N uses the
 * first N of them, the others sitting idle. Around each level the CPU time of the machine, the
 * Worker and the opencodes is read from /proc, and memory once all sessions have run.
 */
export async function concurrencyBenchmark(stack: BenchStack, levels = CONCURRENCY_LEVELS, cores = 2): Promise<ConcurrencyResult> {
  const ids: string[] = []
  const out: ConcurrencyLevel[] = []
  const total = Math.max(...levels)
  try {
    await sleep(2_000)
    const workerdRssBefore = workerdMemory().rssBytes
    for (let i = 0; i < total; i += START_BATCH) {
      const started = await Promise.allSettled(Array.from({ length: Math.min(START_BATCH, total - i) }, () => idleSession(stack)))
      for (const s of started) if (s.status === 'fulfilled') ids.push(s.value)
      const failed = started.find((s) => s.status === 'rejected')
      if (failed) throw (failed as PromiseRejectedResult).reason
    }
    // A session whose unmeasured turn failed still takes part: its sandbox is recovered or replaced meanwhile.
    await Promise.all(ids.map((id) => turn(stack, id)))
    // The first turn leaves work behind in opencode (the title, snapshots): let it finish.
    await Promise.all(ids.map((id) => settled(stack, id)))
    const opencodePids = opencodeProcessesUnder(stack.dir)
    await quiet(opencodePids)
    for (const n of levels) {
      const results: (number | Error)[] = []
      const rounds = Math.max(MIN_ROUNDS, Math.ceil(MIN_TURNS / n))
      const before = cpuMark(opencodePids)
      for (let round = 0; round < rounds; round++) results.push(...(await Promise.all(ids.slice(0, n).map((id) => turn(stack, id)))))
      const after = cpuMark(opencodePids)
      const times = results.filter((r): r is number => typeof r === 'number')
      const failures = results.filter((r): r is Error => r instanceof Error)
      out.push({
        sessions: n,
        turns: times.length,
        failed: failures.length,
        ...(failures[0] && { failure: failures[0].message.slice(0, 160) }),
        p50: quantile(times, 0.5),
        p99: quantile(times, 0.99),
        max: Math.max(...times),
        turnsPerSecond: (times.length * 1000) / (after.at - before.at),
        cores: coresBetween(before, after, cores),
      })
    }
    return { levels: out, sessions: ids.length, workerdRssBefore, workerdRssAfter: workerdMemory().rssBytes, opencodeRss: rssOf(opencodePids) }
  } finally {
    await Promise.all(ids.map((id) => endSession(stack, id)))
  }
}

