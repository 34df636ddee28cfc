import { cpus, totalmem } from 'node:os'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PROJECT_ROOT } from '../local/stack'
import { concurrencyBenchmark } from './concurrency'
import { fanoutBenchmark } from './fanout'
import { benchStack } from './lib/stack'
import { ms, ratio } from './lib/stats'
import { relayBenchmark } from './relay'
import { replayBenchmark } from './replay'
import { poolReady, startBenchmark } from './start'

/**
 * `npm run bench`: the five benchmarks side by side on the local stack with the scripted model,
 * a table of figures and ratios on stdout and in bench/RESULTS.md. No figure here is a test.
 */
const rows: string[] = []
const row = (...cells: string[]) => {
  rows.push(`| ${cells.join(' | ')} |`)
  console.log(rows.at(-1))
}

const cold = await benchStack({ WARM_POOL_SIZE: '0' })
try {
  const relay = await relayBenchmark(cold)
  row('relay: time to last delta', `${relay.deltas} deltas`, `direct ${ms(relay.direct.lastDeltaMs)}`, `relay ${ms(relay.relay.lastDeltaMs)}`, ratio(relay.relay.lastDeltaMs, relay.direct.lastDeltaMs))
  row('relay: latency per delta p50', '', `direct ${ms(relay.direct.p50)}`, `relay ${ms(relay.relay.p50)}`, `+${ms(relay.relay.p50 - relay.direct.p50)}`)
  row('relay: latency per delta p99', '', `direct ${ms(relay.direct.p99)}`, `relay ${ms(relay.relay.p99)}`, `+${ms(relay.relay.p99 - relay.direct.p99)}`)

  const start = await startBenchmark(cold, 4)
  row('session start, cold', `${start.samples} sessions`, `p50 ${ms(start.p50)}`, `p95 ${ms(start.p95)}`, '')

  const fanout = await fanoutBenchmark(cold)
  const one = fanout.find((f) => f.clients === 1)!
  const fifty = fanout.find((f) => f.clients === 50)!
  row('fan-out: events/s per client', '1 vs 50 clients', `1: ${one.eventsPerSecondPerClient.toFixed(0)}/s`, `50: ${fifty.eventsPerSecondPerClient.toFixed(0)}/s`, ratio(fifty.eventsPerSecondPerClient, one.eventsPerSecondPerClient))

  const replay = await replayBenchmark(cold)
  row('replay after 10,000 events', `${replay.events} events`, ms(replay.ms), `${((replay.events / replay.ms) * 1000).toFixed(0)} events/s`, '')

  for (const c of await concurrencyBenchmark(cold, [1, 2, 4])) {
    row('concurrent turns', `${c.sessions} sessions`, `p50 ${ms(c.p50)}`, `max ${ms(c.max)}`, '')
  }
} finally {
  await cold.dispose()
}

const warmStack = await benchStack({ WARM_POOL_SIZE: '2' })
try {
  const warm = await startBenchmark(warmStack, 4, () => poolReady(warmStack, 1))
  row('session start, warm (WARM_POOL_SIZE=2)', `${warm.samples} sessions`, `p50 ${ms(warm.p50)}`, `p95 ${ms(warm.p95)}`, '')
} finally {
  await warmStack.dispose()
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
const table = ['| benchmark | load | figure | figure | ratio or difference |', '|---|---|---|---|---|', ...rows].join('\n')
console.log(`\n${machine}\n\n${table}\n`)
writeFileSync(
  join(PROJECT_ROOT, 'bench', 'RESULTS.md'),
  `# Benchmark results\n\nRun on ${new Date().toISOString().slice(0, 10)} with \`npm run bench\`, on ${machine}, against the local stack (wrangler dev, local sandboxes, the scripted model). Figures from one run; the machine is shared and noisy, so read the ratios, not the milliseconds.\n\n${table}\n`,
)
