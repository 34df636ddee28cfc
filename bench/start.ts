import { call, type BenchStack } from './lib/stack'
import { now, quantile, sleep } from './lib/stats'

export type StartResult = { samples: number; p50: number; p95: number }

/** POST /v1/sessions to the first `session.status` idle, one session after another. */
export async function startBenchmark(stack: BenchStack, samples: number, beforeEach?: () => Promise<void>): Promise<StartResult> {
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    await beforeEach?.()
    const t0 = now()
    const { id } = await call(stack, '/v1/sessions', {})
    for (;;) {
      const s = await call(stack, `/v1/sessions/${id}`)
      if (s.status === 'idle') break
      await sleep(5)
    }
    times.push(now() - t0)
    await call(stack, `/v1/sessions/${id}`, undefined, 'DELETE')
  }
  return { samples, p50: quantile(times, 0.5), p95: quantile(times, 0.95) }
}

/** Waits until the warm pool reports `n` ready sandboxes. */
export async function poolReady(stack: BenchStack, n: number) {
  for (;;) {
    const health = (await (await fetch(`${stack.url}/health`)).json()) as { warmPool?: { ready: number } }
    if ((health.warmPool?.ready ?? 0) >= n) return
    await sleep(100)
  }
}
