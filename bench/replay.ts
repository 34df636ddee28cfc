import { call, idleSession, readEvents, script, type BenchStack } from './lib/stack'
import { now, sleep } from './lib/stats'

const EVENTS = 10_000
const TURNS = 5

export type ReplayResult = { events: number; ms: number }

/** A client that reconnects from the start of a 10,000-event log: time until it has all of it. */
export async function replayBenchmark(stack: BenchStack): Promise<ReplayResult> {
  const sessionId = await idleSession(stack)
  try {
    // Several turns rather than one burst of 10,000 pieces: see bench/RESULTS.md.
    for (let i = 0; i < TURNS; i++) await call(stack, `/v1/sessions/${sessionId}/messages`, { text: script({ stamp: EVENTS / TURNS }) })
    let lastEventId = 0
    for (;;) {
      await sleep(500)
      const s = await call(stack, `/v1/sessions/${sessionId}`)
      if (s.status === 'idle' && s.queued === 0) {
        lastEventId = s.lastEventId as number
        break
      }
    }
    const t0 = now()
    const events = await readEvents(stack, sessionId, { after: 0, done: (e) => e.id === lastEventId })
    return { events: events.length, ms: now() - t0 }
  } finally {
    await call(stack, `/v1/sessions/${sessionId}`, undefined, 'DELETE')
  }
}
