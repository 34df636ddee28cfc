import { call, endSession, idleSession, script, type BenchStack } from './lib/stack'
import { now, quantile, sleep } from './lib/stats'

/** Each session runs its own opencode (about 300 MB), and the 2 cores are shared by all of them and the Worker. */
export const CONCURRENCY_LEVELS = [1, 2, 4, 6]
/** At least this many rounds per level, and at least this many turns. */
const MIN_ROUNDS = 2
const MIN_TURNS = 4
/** A modest turn: 500 pieces, paced at about one a millisecond. */
const PROMPT = script({ reply: 'x'.repeat(500), chunks: 500, delayMs: 1 })

export type ConcurrencyLevel = { sessions: number; turns: number; p50: number; max: number }

async function settled(stack: BenchStack, id: string) {
  for (;;) {
    const s = await call(stack, `/v1/sessions/${id}`)
    if (s.status === 'idle' && s.queued === 0) return
    await sleep(200)
  }
}

async function turn(stack: BenchStack, id: string): Promise<number> {
  const t0 = now()
  const res = await call(stack, `/v1/sessions/${id}/messages?wait=true&timeout=300`, { text: PROMPT })
  if (res.reply?.text === undefined) throw new Error(`turn of ${id} answered without a reply: ${JSON.stringify(res).slice(0, 200)}`)
  return now() - t0
}

/**
 * Concurrency: N sessions each completing a turn at the same moment, N growing. The sessions
 * are started (and given one unmeasured turn) up front, then left to settle; level N uses the first N of them, the
 * others sitting idle.
 */
export async function concurrencyBenchmark(stack: BenchStack, levels = CONCURRENCY_LEVELS): Promise<ConcurrencyLevel[]> {
  const ids: string[] = []
  const out: ConcurrencyLevel[] = []
  try {
    const started = await Promise.allSettled(Array.from({ length: Math.max(...levels) }, () => idleSession(stack)))
    for (const s of started) if (s.status === 'fulfilled') ids.push(s.value)
    const failed = started.find((s) => s.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
    await Promise.all(ids.map((id) => turn(stack, id)))
    // The first turn leaves work behind in opencode (the title, snapshots): let it finish.
    await Promise.all(ids.map((id) => settled(stack, id)))
    await sleep(3_000)
    for (const n of levels) {
      const times: number[] = []
      const rounds = Math.max(MIN_ROUNDS, Math.ceil(MIN_TURNS / n))
      for (let round = 0; round < rounds; round++) times.push(...(await Promise.all(ids.slice(0, n).map((id) => turn(stack, id)))))
      out.push({ sessions: n, turns: times.length, p50: quantile(times, 0.5), max: Math.max(...times) })
    }
  } finally {
    await Promise.all(ids.map((id) => endSession(stack, id)))
  }
  return out
}
