import { call, idleSession, script, type BenchStack } from './lib/stack'
import { now, quantile } from './lib/stats'

export type ConcurrencyResult = { sessions: number; p50: number; max: number }[]

/** N sessions, each with its own opencode, completing a turn at the same time. */
export async function concurrencyBenchmark(stack: BenchStack, levels: number[]): Promise<ConcurrencyResult> {
  const out: ConcurrencyResult = []
  for (const n of levels) {
    const ids = await Promise.all(Array.from({ length: n }, () => idleSession(stack)))
    try {
      const turns = await Promise.all(
        ids.map(async (id) => {
          const t0 = now()
          await call(stack, `/v1/sessions/${id}/messages?wait=true&timeout=600`, { text: script({ stamp: 200 }) })
          return now() - t0
        }),
      )
      out.push({ sessions: n, p50: quantile(turns, 0.5), max: Math.max(...turns) })
    } finally {
      await Promise.all(ids.map((id) => call(stack, `/v1/sessions/${id}`, undefined, 'DELETE')))
    }
  }
  return out
}
