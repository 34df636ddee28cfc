import { writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { inDialect } from '../local/model-server'
import { PROJECT_ROOT } from '../local/stack'
import { CONCURRENCY_LEVELS, concurrencyBenchmark, type ConcurrencyResult } from './concurrency'
import { FANOUT_DELTAS, fanoutBenchmark, type FanoutLevel } from './fanout'
import { GATEWAY_DELAY_MS, GATEWAY_PIECES, gatewayBenchmark, type GatewayResult } from './gateway'
import { meteringBenchmark, type MeteringResult } from './metering'
import { benchStack, cleanupAll, onCleanup, type BenchStack } from './lib/stack'
import { median, ms, now, perSecond, plusMs, ratio, us } from './lib/stats'
import { mib } from './lib/procs'
import { FILE_SESSIONS, FILES, GATEWAY_BODY_BYTES, memoryBenchmark, type MemoryResult } from './memory'
import { BURST, MODEL_PACE, relayBenchmark, STRESS, type RelayResult } from './relay'
import { relayStagesBenchmark, type StageResult } from './relay-stages'
import { replayBenchmark, type ReplayResult } from './replay'
import { RUNTIME_SAMPLES, runtimesBenchmark, type RuntimeStart } from './runtimes'
import { CRASHES, crashBenchmark, STORM_CYCLES, stormBenchmark, type CrashResult, type StormResult } from './recovery'
import { BURST as BURST_STARTS, START_SAMPLES, StartWorkLog, WARM_START_SAMPLES, burstBenchmark, opencodeBootBenchmark, startBenchmark, type BootResult, type BurstResult, type StartResult, type StartSteps } from './start'
import { CHECKPOINT_TURNS, checkpointBenchmark, checkpointRepo, checkpointRows, LARGE_REPO_MIB, type CheckpointResult } from './checkpoint'
import { benchRepo, removeBenchRepo, repoPoolSetting, repoStartBenchmark, repoStartRows, REPO_SETUP, type RepoStartResult } from './repo-start'

/**
 * `npm run bench`: five benchmarks side by side against the local stack (wrangler dev, local
 * sandboxes, the scripted model), a table of figures and ratios on stdout and in
 * bench/RESULTS.md. Nothing here is a test: no figure passes or fails.
 */

const BENCHMARKS = ['relay', 'stages', 'start', 'boot', 'fanout', 'replay', 'concurrency', 'gateway', 'metering', 'memory', 'warm', 'burst', 'repo', 'checkpoint', 'crash', 'storm', 'runtimes'] as const
type Benchmark = (typeof BENCHMARKS)[number]
/** `npm run bench -- --only relay,stages`: some benchmarks only, printed; RESULTS.md keeps whole runs. */
/** `--paces burst,stress,model`: some of the relay's paces only (default: all three). */
/** `--levels 1,12`: some of the concurrency benchmark's levels only (default: CONCURRENCY_LEVELS). */
const { values: flags } = parseArgs({ options: { only: { type: 'string' }, paces: { type: 'string' }, levels: { type: 'string' } } })
const PACES = { burst: BURST, stress: STRESS, model: MODEL_PACE }
const paces = (flags.paces?.split(',') ?? Object.keys(PACES)).map((name) => {
  const pace = PACES[name.trim() as keyof typeof PACES]
  if (!pace) {
    console.error(`--paces takes ${Object.keys(PACES).join(', ')}; not ${name}`)
    process.exit(2)
  }
  return pace
})
const levels = flags.levels?.split(',').map(Number) ?? CONCURRENCY_LEVELS
if (levels.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(`--levels takes session counts, such as 1,12; not ${flags.levels}`)
  process.exit(2)
}
const only = flags.only?.split(',').map((name) => name.trim())
const unknown = only?.filter((name) => !(BENCHMARKS as readonly string[]).includes(name)) ?? []
if (unknown.length) {
  console.error(`--only takes ${BENCHMARKS.join(', ')}; not ${unknown.join(', ')}`)
  process.exit(2)
}
const wanted = (name: Benchmark) => !only || only.includes(name)

const t0 = now()
const elapsed = () => `${((now() - t0) / 1000).toFixed(0)} s`
const progress = (what: string) => console.error(`[bench ${elapsed()}] ${what}`)
const failures: string[] = []

async function attempt<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  progress(`${name}...`)
  try {
    const result = await run()
    progress(`${name} done`)
    return result
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    failures.push(`${name}: ${message}`)
    progress(`${name} FAILED: ${message}`)
    return undefined
  }
}

async function withStack<T>(
  settings: Record<string, string>,
  run: (stack: BenchStack) => Promise<T>,
  opts: Parameters<typeof benchStack>[2] = {},
  onLog?: (line: string) => void,
): Promise<T | undefined> {
  progress(`starting a stack with ${JSON.stringify(settings)}`)
  let stack: BenchStack
  try {
    stack = await benchStack(settings, onLog, opts)
  } catch (err) {
    failures.push(`stack ${JSON.stringify(settings)}: ${err instanceof Error ? err.message : String(err)}`)
    return undefined
  }
  try {
    return await run(stack)
  } finally {
    await stack.dispose()
  }
}

const relays: RelayResult[] = []
let stages: StageResult | undefined
let startCold: StartResult | undefined
let startWarm: StartResult | undefined
let burst: BurstResult | undefined
let repoStart: RepoStartResult | undefined
let boot: BootResult | undefined
let fanout: FanoutLevel[] | undefined
let replay: ReplayResult | undefined
let concurrency: ConcurrencyResult | undefined
let gateway: GatewayResult | undefined
let metering: MeteringResult | undefined
let memory: MemoryResult | undefined
const checkpoints: CheckpointResult[] = []
let crash: CrashResult | undefined
let storm: StormResult | undefined
let runtimes: RuntimeStart[] | undefined

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`
const loadAtStart = loadavg().map((l) => l.toFixed(2)).join(' ')

try {
  await withStack({ WARM_POOL_SIZE: '0' }, async (stack) => {
    if (wanted('relay')) {
      for (const pace of paces) {
        const result = await attempt(`relay, a delta every ${pace.delayMs} ms`, () => relayBenchmark(stack, pace))
        if (result) relays.push(result)
      }
    }
    if (wanted('stages')) stages = await attempt('relay stages', () => relayStagesBenchmark(stack, BURST))
    if (wanted('start')) startCold = await attempt('session start, cold', () => startBenchmark(stack))
    if (wanted('boot')) boot = await attempt("opencode's own boot", () => opencodeBootBenchmark(stack))
    if (wanted('fanout')) fanout = await attempt('fan-out', () => fanoutBenchmark(stack))
    if (wanted('replay')) replay = await attempt('replay', () => replayBenchmark(stack))
    if (wanted('concurrency')) concurrency = await attempt('concurrency', () => concurrencyBenchmark(stack, levels))
    if (wanted('gateway')) gateway = await attempt('model gateway', () => gatewayBenchmark(stack))
    if (wanted('metering')) metering = await attempt("the gateway's metering", () => meteringBenchmark(stack))
    if (wanted('memory')) memory = await attempt('memory under large bodies', () => memoryBenchmark(stack))
    if (wanted('checkpoint')) {
      for (const [label, mib] of [['small repository', 0], [`${LARGE_REPO_MIB} MiB repository`, LARGE_REPO_MIB]] as const) {
        const repo = checkpointRepo(mib)
        onCleanup(() => removeBenchRepo(repo))
        const result = await attempt(`checkpoints, ${label}`, () => checkpointBenchmark(stack, repo, label))
        if (result) checkpoints.push(result)
      }
    }
    if (wanted('crash')) crash = await attempt('crash noticed', () => crashBenchmark(stack))
    if (wanted('storm')) storm = await attempt('reconnect storm', () => stormBenchmark(stack))
  })
  if (wanted('warm') || wanted('repo')) {
    const repo = benchRepo()
    onCleanup(() => removeBenchRepo(repo))
    const work = new StartWorkLog()
    await withStack(
      { WARM_POOL_SIZE: '2', ...(wanted('repo') && { WARM_POOLS: repoPoolSetting(repo) }) },
      async (stack) => {
        if (wanted('warm')) startWarm = await attempt('session start, warm', () => startBenchmark(stack, WARM_START_SAMPLES, work))
        if (wanted('repo')) repoStart = await attempt('repository session start', () => repoStartBenchmark(stack, repo))
      },
      {},
      work.onLog,
    )
  }
  if (wanted('runtimes')) {
    // A deployment with providers speaking Anthropic's and OpenAI's Responses API, as Claude Code and Codex need.
    const dialects = (c: Record<string, unknown>) => inDialect('responses')(inDialect('anthropic')(c))
    await withStack({ WARM_POOL_SIZE: '0' }, async (stack) => {
      runtimes = await attempt('runtimes side by side', () => runtimesBenchmark(stack))
    }, { opencodeConfig: dialects })
  }
  if (wanted('burst')) {
    await withStack({ WARM_POOL_SIZE: String(BURST_STARTS) }, async (stack) => {
      burst = await attempt(`a burst of ${BURST_STARTS} session starts`, () => burstBenchmark(stack))
    })
  }
} finally {
  await cleanupAll()
}

const rows: string[][] = []
const row = (...cells: string[]) => rows.push(cells)
const COLD = 'WARM_POOL_SIZE=0'

for (const relay of relays) {
  const { direct, viaGateway, relay: through, noProxy, raw, rawStored } = relay
  const load = `${relay.deltas} deltas ${relay.delayMs} ms apart, ${relay.rounds} rounds`
  row('relay split: opencode through the gateway alone, time to last delta', COLD, load, `direct ${ms(direct.lastDeltaMs)}`, `gateway ${ms(viaGateway.lastDeltaMs)}`, ratio(viaGateway.lastDeltaMs, direct.lastDeltaMs))
  row('relay split: the relay after the gateway, time to last delta', COLD, load, `gateway ${ms(viaGateway.lastDeltaMs)}`, `relay ${ms(through.lastDeltaMs)}`, ratio(through.lastDeltaMs, viaGateway.lastDeltaMs))
  row('relay: time to last delta', COLD, load, `direct ${ms(direct.lastDeltaMs)}`, `relay ${ms(through.lastDeltaMs)}`, ratio(through.lastDeltaMs, direct.lastDeltaMs))
  row('relay: time to the reply complete (idle)', COLD, load, `direct ${ms(direct.idleMs)}`, `relay ${ms(through.idleMs)}`, ratio(through.idleMs, direct.idleMs))
  row('relay behind the proxy: time to last delta', COLD, load, `direct ${ms(direct.lastDeltaMs)}`, `behind ${ms(noProxy.lastDeltaMs)}`, ratio(noProxy.lastDeltaMs, direct.lastDeltaMs))
  row('relay behind the proxy: time to the reply complete', COLD, load, `direct ${ms(direct.idleMs)}`, `behind ${ms(noProxy.idleMs)}`, ratio(noProxy.idleMs, direct.idleMs))
  row('relay: workerd CPU per 1,000 model pieces', COLD, load, `behind the proxy ${ms(noProxy.cpuMsPer1000 ?? NaN)}`, `through it ${ms(through.cpuMsPer1000 ?? NaN)}`, `proxy ${plusMs((through.cpuMsPer1000 ?? NaN) - (noProxy.cpuMsPer1000 ?? NaN))}`)
  row('relay: latency per delta, p50', COLD, load, `direct ${ms(direct.p50)}`, `relay ${ms(through.p50)}`, `added ${plusMs(through.p50 - direct.p50)}`)
  row('relay: latency per delta, p99', COLD, load, `direct ${ms(direct.p99)}`, `relay ${ms(through.p99)}`, `added ${plusMs(through.p99 - direct.p99)}`)
  row('relay with ?raw=1: forwarded vs stored, p50', COLD, load, `forwarded ${ms(raw.p50)}`, `stored ${ms(rawStored.p50)}`, `storage ${plusMs(rawStored.p50 - raw.p50)}`)
  row('relay with ?raw=1: forwarded vs stored, p99', COLD, load, `forwarded ${ms(raw.p99)}`, `stored ${ms(rawStored.p99)}`, `storage ${plusMs(rawStored.p99 - raw.p99)}`)
}
for (const start of [startCold, startWarm]) {
  if (!start) continue
  const kind = Number(start.warmPoolSize) > 0 ? 'warm' : 'cold'
  row(
    `session start, ${kind}`,
    `WARM_POOL_SIZE=${start.warmPoolSize}`,
    `${start.samples} sessions, ${start.fromPool} from the pool, ${start.answeredIdle} answered idle`,
    `p50 ${ms(start.p50)}`,
    `p95 ${ms(start.p95)}`,
    '',
  )
}
const stepsOf = (s: StartSteps) =>
  `admitted ${ms(s.admitted)} (answered ${ms(s.answered)}), pool take ${ms(s.taken)}, ready ${ms(s.ready)}, idle ${ms(s.idle)}, seen ${ms(s.seen)}; agent attached ${ms(s.attached)} after the take`
if (startWarm) {
  row('session start, warm: steps (p50 each)', `WARM_POOL_SIZE=${startWarm.warmPoolSize}`, `${startWarm.samples} sessions`, stepsOf(startWarm.steps), '', '')
  row(
    'session start, warm: idle read on the stream',
    `WARM_POOL_SIZE=${startWarm.warmPoolSize}`,
    'a stream opened once the POST answered',
    `p50 ${ms(startWarm.seenP50)}`,
    `p95 ${ms(startWarm.seenP95)}`,
    '',
  )
  row(
    'session start, warm: answered vs round trips',
    `WARM_POOL_SIZE=${startWarm.warmPoolSize}`,
    'a GET of each idle session; of a session id never used (a new object\'s first load)',
    `answered ${ms(startWarm.steps.answered)}`,
    `GET ${ms(startWarm.getMs)}, new object ${ms(startWarm.freshMs)}`,
    `${ratio(startWarm.steps.answered, startWarm.getMs)}`,
  )
}
if (burst) {
  row(
    `session start, a burst of ${burst.samples} at once`,
    `WARM_POOL_SIZE=${burst.warmPoolSize}`,
    `${burst.samples} sessions, ${burst.fromPool} from the pool (${burst.readyBefore} ready before)`,
    `p50 ${ms(burst.p50)}`,
    `p95 ${ms(burst.p95)}`,
    startWarm ? `p50 ${ratio(burst.p50, startWarm.p50)} of one warm start` : '',
  )
  row('session start, a burst: steps (p50 each)', `WARM_POOL_SIZE=${burst.warmPoolSize}`, '', stepsOf(burst.steps), '', '')
  row(
    'warm pool after the burst',
    `WARM_POOL_SIZE=${burst.warmPoolSize}`,
    `${burst.readyAfter} ready at the burst's end`,
    `full again ${Number.isFinite(burst.refillMs) ? `${(burst.refillMs / 1000).toFixed(0)} s` : 'not within 5 min'} after it`,
    '',
    '',
  )
}
if (boot) {
  const { quiet, plain } = boot
  const steps = (b: typeof quiet) => `made ${ms(b.made)}, serving ${ms(b.serving)}, first session ${ms(b.session)}`
  row("opencode's own boot, no Worker", COLD, `${quiet.samples} + ${plain.samples} sandboxes, alternating`, `quiet p50 ${ms(quiet.p50)} (p95 ${ms(quiet.p95)})`, `plain p50 ${ms(plain.p50)} (p95 ${ms(plain.p95)})`, `p50 ${ratio(quiet.p50, plain.p50)}`)
  row("opencode's own boot: steps (p50 each)", COLD, '', `quiet: ${steps(quiet)}`, `plain: ${steps(plain)}`, '')
  row("opencode's own boot: CPU to its first session", COLD, 'opencode and what it started', `quiet ${(quiet.cpuMs / 1000).toFixed(2)} s`, `plain ${(plain.cpuMs / 1000).toFixed(2)} s`, ratio(quiet.cpuMs, plain.cpuMs))
  const s = (msValue: number) => `${(msValue / 1000).toFixed(2)} s`
  row(
    "opencode's own boot, quiet: CPU by step (p50)",
    COLD,
    'the binary alone: `opencode --version`',
    `binary load ${s(boot.load.cpuMs)} CPU (${ms(boot.load.wallMs)} wall)`,
    `init to serving ${s(quiet.cpuServingMs - boot.load.cpuMs)}, first session ${s(quiet.cpuMs - quiet.cpuServingMs)}`,
    `load ${((boot.load.cpuMs / quiet.cpuMs) * 100).toFixed(0)}% of ${s(quiet.cpuMs)}`,
  )
}
if (stages) {
  const behind = relays.find((r) => r.deltas === BURST.deltas && r.delayMs === BURST.delayMs)?.noProxy.cpuMsPer1000
  // per public event as recorded (one per piece, before coalescing: an upper bound), as the Worker's CPU is counted per model piece
  const pure = ((stages.parseUs + stages.translateUs) * stages.agentEvents) / stages.publicEvents + stages.frameUs
  const load = `${stages.agentEvents} opencode events → ${stages.publicEvents} public`
  row('relay, pure stages (Node)', COLD, load, `per opencode event: parse ${us(stages.parseUs)}, translate ${us(stages.translateUs)}`, `per public event: frame ${us(stages.frameUs)}`, `${us(pure)} per public event; gateway ${us(stages.gatewayUs)} per piece`)
  // CPU milliseconds per 1,000 pieces are microseconds per piece.
  if (behind !== undefined) {
    const rest = behind - stages.gatewayUs - pure
    row('relay per model piece: workerd CPU split', COLD, load, `workerd ${us(behind)}: gateway ${us(stages.gatewayUs)}, pure stages ${us(pure)}`, `storage, RPC, streams ${us(rest)}`, `rest ${((rest / behind) * 100).toFixed(0)}% of it`)
  }
}

if (startCold && boot) {
  row('session start, cold / opencode boot', '', '', '', '', `p50 ${ratio(startCold.p50, boot.quiet.p50)}`)
}
if (startCold && startWarm) {
  row('session start, warm / cold', '', '', '', '', `p50 ${ratio(startWarm.p50, startCold.p50)}`)
}
if (repoStart) for (const cells of repoStartRows(repoStart, startWarm)) row(...cells)
for (const result of checkpoints) for (const cells of checkpointRows(result)) row(...cells)
if (fanout) {
  const one = fanout[0]!
  for (const many of fanout.slice(1)) {
    row(
      'fan-out: model pieces/s per client',
      COLD,
      `${FANOUT_DELTAS} pieces, ${one.clients} vs ${many.clients} clients`,
      `${one.clients}: ${perSecond(one.eventsPerSecondPerClient)}`,
      `${many.clients}: ${perSecond(many.eventsPerSecondPerClient)}`,
      ratio(many.eventsPerSecondPerClient, one.eventsPerSecondPerClient),
    )
    row(
      'fan-out: prompt to last delta, slowest client',
      COLD,
      '',
      `${one.clients}: ${ms(one.lastDeltaMs)}`,
      `${many.clients}: ${ms(many.lastDeltaMs)}`,
      `${ratio(many.lastDeltaMs, one.lastDeltaMs)}; ${many.clients} clients get ${perSecond(many.eventsPerSecondTotal)} in all`,
    )
  }
}
if (replay) {
  row(
    'replay from the start',
    COLD,
    `${replay.replayed} of ${replay.logged} events`,
    `?after=0 ${ms(replay.afterMs)}`,
    `Last-Event-ID: 0 ${ms(replay.lastEventIdMs)}`,
    `${perSecond((replay.replayed / replay.afterMs) * 1000)}`,
  )
}
if (concurrency) {
  const alone = concurrency.levels[0]!
  const cores = (n: number) => n.toFixed(2)
  const busy = (c: ConcurrencyResult['levels'][number]) =>
    `cores busy ${cores(c.cores.machine)} of 2: workerd ${cores(c.cores.workerd)}, opencodes ${cores(c.cores.opencode)}, wrangler's Node ${cores(c.cores.wrangler)}, clients, model and sandbox host ${cores(c.cores.bench)}`
  for (const c of concurrency.levels) {
    row(
      'concurrent turns',
      COLD,
      `${c.sessions} sessions, ${c.turns} turns${c.failed ? `, ${c.failed} failed (${c.failure})` : ''}`,
      `p50 ${ms(c.p50)}, p99 ${ms(c.p99)}, max ${ms(c.max)}; ${c.turnsPerSecond.toFixed(2)} turns/s`,
      busy(c),
      `p50 ${ratio(c.p50, alone.p50)}, p99 ${ratio(c.p99, alone.p99)}, throughput ${ratio(c.turnsPerSecond, alone.turnsPerSecond)} of 1 session`,
    )
  }
  const most = concurrency.levels.at(-1)!
  if (most !== alone) {
    row(
      `turns of ${most.sessions} sessions at once vs one alone, p99`,
      COLD,
      `${most.turns} turns vs ${alone.turns}`,
      `alone p99 ${ms(alone.p99)}`,
      `${most.sessions} at once p99 ${ms(most.p99)}`,
      `${ratio(most.p99, alone.p99)} (target 3x)`,
    )
  }
  const { sessions, workerdRssBefore, workerdRssAfter, opencodeRss } = concurrency
  row(
    'memory per session',
    COLD,
    `${sessions} sessions after their turns`,
    `Worker: workerd ${mib(workerdRssBefore)} → ${mib(workerdRssAfter)}, ${mib((workerdRssAfter - workerdRssBefore) / sessions)} a session`,
    `sandbox: opencode p50 ${mib(median(opencodeRss))}, max ${mib(Math.max(...opencodeRss))} (${opencodeRss.length} processes)`,
    '',
  )
}

if (gateway) {
  const { direct, gateway: through, rounds } = gateway
  const load = `${GATEWAY_PIECES} pieces ${GATEWAY_DELAY_MS} ms apart, ${rounds} rounds`
  row('model gateway: time to first token, p50', COLD, load, `direct ${ms(direct.firstMs)}`, `gateway ${ms(through.firstMs)}`, ratio(through.firstMs, direct.firstMs))
  row('model gateway: time to last token, p50', COLD, load, `direct ${ms(direct.lastMs)}`, `gateway ${ms(through.lastMs)}`, ratio(through.lastMs, direct.lastMs))
  row('model gateway: workerd CPU per 1,000 pieces', COLD, load, ms(gateway.cpuMsPer1000), '', '')
}
if (metering) {
  for (const { delayMs, plainUs, meteredUs } of [metering.paced, metering.unpaced]) {
    row(
      'model gateway: metering CPU per piece (Node)',
      COLD,
      `${metering.pieces} pieces in ${metering.chunks} chunks, ${delayMs ? `${delayMs} ms apart` : 'at once'}, ${metering.rounds} rounds`,
      `unmetered ${us(plainUs)}`,
      `metered ${us(meteredUs)}`,
      `${ratio(meteredUs, plainUs)}; metering +${us(meteredUs - plainUs)} per piece`,
    )
  }
}

if (memory) {
  row('workerd peak memory: messages with files', COLD, `${FILE_SESSIONS} sessions at once, each a message of ${FILES} × 1 MiB files`, `+${mib(memory.filesRiseBytes)}`, 'target under 60 MiB', '')
  row('workerd peak memory: a large model request', COLD, `one request of ${GATEWAY_BODY_BYTES / 1e6} MB through the gateway`, `+${mib(memory.gatewayRiseBytes)}`, 'target under 20 MiB', '')
}

if (crash) {
  const causes = Object.entries(crash.causes).map(([cause, n]) => `${n}× "${cause}"`).join(', ')
  row('crash noticed: opencode killed', COLD, `${crash.samples} kills of an idle session's opencode`, `restarting ${ms(crash.noticedMs)}`, `ready again ${ms(crash.backMs)}`, `noticed ${ratio(crash.noticedMs, crash.backMs)} of the recovery; cause: ${causes}`)
}
if (storm) {
  row('reconnect storm', COLD, `${storm.cycles} open-read-close cycles of one stream in a row`, `${storm.refused} refused (429)`, `cycle p50 ${ms(storm.cycleMs)}`, '')
  row('reconnect storm: a real 101st reader', COLD, '100 readers reading', `answered ${storm.extraStatus}`, `after ${ms(storm.extraMs)} (the probe of the 100)`, '')
}

if (runtimes) {
  const opencode = runtimes.find((r) => r.runtime === 'opencode')
  for (const r of runtimes) {
    const against = opencode && r !== opencode ? `start ${ratio(r.startMs, opencode.startMs)}, memory ${ratio(r.rssBytes, opencode.rssBytes)} of opencode's` : ''
    row(`runtime ${r.runtime}: cold start and memory`, COLD, `${r.samples} sessions one after another`, `start p50 ${ms(r.startMs)}`, `${mib(r.rssBytes)} in ${r.processes} processes`, against)
  }
}

const header = ['benchmark', 'stack', 'load', 'figure', 'figure', 'ratio or difference']
const table = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
const date = new Date().toISOString().replace('T', ' ').slice(0, 16)
const notes = `What the rows measure:

- **relay**: the same reply (${STRESS.deltas} deltas paced at about ${STRESS.delayMs} ms a piece, a stress faster than any model
  writes; then ${MODEL_PACE.deltas} at about ${MODEL_PACE.delayMs} ms, a fast model's pace; each piece stamped with its send time) read from an \`opencode serve\` of the benchmark's own (through the SDK's
  event subscription) and through the Worker's SSE, rounds alternating, after one unmeasured turn each.
  Latency per delta is arrival minus send time; time to last delta counts from sending the prompt.
  The \`?raw=1\` rows come from a third kind of round: the same stream with opencode's own events
  forwarded as \`agent.event\` before the event log stores anything, beside the stored \`message.delta\`s.
  "Behind the proxy" rounds read the same stream from the Worker's own address behind wrangler dev's
  proxy (which only the local stack has; the prompt still goes through it), to tell the proxy's hop
  from the relay's cost. Time to the reply complete is to the \`session.status\` idle that follows it.
  Consecutive pieces the Worker stored as one delta count one by one (each carries its own stamp).
  **The split**: a second \`opencode serve\` of the benchmark's own calls the model through the Worker's
  gateway with the relay session's gateway token, read as the first one is: the gateway's share of the
  relay's time, and the relay's own after it. Every opencode here, the stack's sandboxes' too, runs with
  Bun's whole JIT, as a deployment's sandbox does (the test suite's local sandboxes turn its optimising tier off).
  **workerd CPU per 1,000 model pieces**: user and system time of the stack's workerd processes (from
  /proc) over a round, per 1,000 model pieces relayed in it: what a deployment pays for.
- **relay stages**: workerd's clock stands still while a Worker computes, so the pure stages are
  timed in Node's V8 on the events of one recorded burst (opencode's own, parsed off the wire,
  translated, framed). The CPU split takes workerd's CPU per model piece in the burst's rounds behind the
  proxy, less the gateway's CPU per model piece measured at the same pace (each delta passed the
  gateway first) and the pure stages; the rest is storage, RPC between the Durable Object and the
  Worker, and streams.
- **session start**: \`POST /v1/sessions\` until the client knows the session is idle: the POST's answer
  when it says \`idle\` (a warm start), else the first \`session.status\` idle on the stream it opens after the answer;
  "idle read on the stream" times the stream's event in every case. One session at a time; with a pool, each
  sample waits (up to a minute) for a ready sandbox first (${WARM_START_SAMPLES} warm samples, ${START_SAMPLES} cold).
  "from the pool" counts sessions whose \`sandbox.status\` said reason \`warm\`. **opencode's own boot**
  is the floor of a cold start, measured without the Worker: a sandbox made through the sandbox host,
  a baseline commit, \`opencode serve\` started with a session's configuration, up to its first session;
  rounds alternate "quiet" (with what sandboxes now set to skip opencode's network work: no model-list
  fetch, no auto-update, no share, no LSP downloads) and "plain" (without it, as before). Its CPU is
  opencode's and its children's from /proc when its health answers and when its first session exists;
  the binary's load alone is \`opencode --version\` run from the benchmark (its runtime and bundle
  started, nothing initialised), the rest of the CPU to serving is opencode's init.
  The steps split a warm start by the \`at\` the session stamps on its events and the client's clock:
  admitted (the route, the session's first load, the tenant's admission), the pool's take (taken
  while the tenant admits), ready (what runs before the session says so: nothing more for a warm
  sandbox, whose pool keeps its agent verified), idle, and seen (stamped to read by the client); and,
  from the \`sandbox.work\` line the Worker logs as the start's work ends (read as it arrives), the agent
  attached after the take (its event stream, opened as soon as the sandbox is taken, and its session),
  which a warm start no longer waits for: a message sent meanwhile waits for it in the queue. The round
  trips beside the answer: a GET of the idle session, and a GET of a session id never used (a new
  session object's first load and its storage set up, then 404).
  **A burst**: ${BURST_STARTS} sessions created at once on a stack whose pool holds ${BURST_STARTS}; then the time until the pool is full again.
- **repository start**: sessions on a local repository whose setup (\`${REPO_SETUP}\`) takes about 10 s, one at
  a time, alternating \`snapshot: false\` (clone and setup every time) with the default (from the snapshot one
  unmeasured session took first: copy, fetch, no setup) and with a session on \`main\` that takes a sandbox of the repository warm pool
  (\`WARM_POOLS\`, size 2; each sample waits for a ready one first: fetch, no checkout, no setup); on the stack with the warm pool,
  whose bare warm start is the ratio's base.
- **checkpoints**: a session on a local repository (a README, or ${LARGE_REPO_MIB} files of 1 MiB of random bytes), \`snapshot: false\`,
  ${CHECKPOINT_TURNS} turns each appending a line to a file: each checkpoint's time from the turn's end to its being listed, and its size;
  then its sandbox killed and the next message's replacement (clone, then the checkpoint put back and the conversation imported)
  timed from \`provisioning\` to \`ready\`, against the session's first sandbox (clone only).
- **fan-out**: one session, one unpaced reply read by 1, then by 50, then by 100 clients (the most one session serves), two rounds each;
  a client's rate is the model's pieces it got over the time from the prompt to its last delta (median over clients and rounds).
- **replay**: one reply (paced at about 1 ms a piece) logs about 10,000 events; a client then reads the log from the start until its last
  event (median of 3 reads each way).
- **model gateway**: one streamed chat completion of ${GATEWAY_PIECES} pieces read straight from the scripted model with
  its key, and through \`/v1/gateway/local\` with a session's gateway token (the Worker checks the token and the
  budget with the session, swaps in the key, streams the answer through and meters it), rounds alternating;
  and workerd's CPU per 1,000 pieces through the gateway. **Metering** is timed apart, in Node's V8 (workerd's
  clock stands still while a Worker computes): the same answer, recorded as it arrived, replayed to a client at
  the same pace (then all at once), passed straight on and passed on as the gateway does (tee()d, the meter
  reading its copy in large pieces beside it and parsing the lines that can state usage), rounds alternating;
  this process's CPU time per model piece each way. Node's streams (and its tee()) are JavaScript where
  workerd's are native, so the unmetered figure is Node's, not the Worker's: the difference is the metering.
- **memory**: workerd's resident memory (all its processes, from /proc) sampled every 25 ms, its peak over where it stood
  just before: while ${FILE_SESSIONS} sessions each take a message with ${FILES} files of 1 MiB at once (sent with \`?wait=true\`, until the
  agent answered, the files put into the sandbox on the way), and while one ${GATEWAY_BODY_BYTES / 1e6} MB streamed chat request passes
  the gateway to the scripted model; the larger of two rounds after an unmeasured one. A Worker isolate has 128 MB in production.
- **crash noticed**: an idle session's \`opencode serve\` killed with SIGKILL from outside, ${CRASHES} times one after another;
  from the kill to the \`sandbox.status\` restarting, and to the ready after it, by the \`at\` the session stamps (one machine, one clock).
  The cause is the restarting event's detail: the process's exit as the sandbox reported it, or the stream's end.
- **reconnect storm**: one client opens a session's event stream, reads its first chunk and hangs up, ${STORM_CYCLES} times in a row
  (a page reloading, a network flapping); then 100 clients that stay and read, and one more, whose answer must be 429.
- **concurrency**: ${Math.max(...CONCURRENCY_LEVELS)} sessions (an opencode each) started up front; N of them send a turn (500 pieces, paced
  at about 1 ms) at the same moment, at least two rounds and twelve turns per level; latency is \`?wait=true\` from send to reply.
  The p99 row sets the most sessions at once against one alone. Cores busy: CPU time over the level's wall time, from /proc
  (the machine's busy share of its 2 cores; workerd; the sessions' opencodes; wrangler dev's Node process, its proxy;
  this process, which runs the clients, the scripted model and the sandbox host). Memory: workerd's resident
  memory before any session and after all ran their turns, over the sessions; each opencode's own resident memory.
- **runtime**: for opencode, Claude Code and Codex side by side, ${RUNTIME_SAMPLES} sessions each started one after another on
  a cold stack (no warm pool; a deployment with providers speaking Anthropic's and the Responses API), POST to the first
  \`session.status\` idle (median), then the resident memory of the sandbox's agent process and all it started (opencode;
  the ACP bridge, the runtime's ACP adapter and the agent it runs), median; the ratios are each to opencode's.
`
const report = `# Benchmark results

Run ${date} UTC with \`npm run bench\` on ${machine}; load average at the start ${loadAtStart}; ${elapsed()} in all.
Against the local stack (wrangler dev, local sandboxes, the scripted model). One run on a shared machine:
read the ratios more than the milliseconds.

${table}
${failures.length ? `\nFailed:\n\n${failures.map((f) => `- ${f}`).join('\n')}\n` : ''}
${notes}`

console.log(`\n${machine}\n\n${table}\n`)
if (failures.length) console.log(`failed:\n${failures.join('\n')}`)
if (only) progress('a partial run (--only): bench/RESULTS.md left as it was')
else {
  writeFileSync(join(PROJECT_ROOT, 'bench', 'RESULTS.md'), report)
  progress('wrote bench/RESULTS.md')
}
process.exit(failures.length ? 1 : 0)
