import { call, idleSession, readEvents, script, type BenchStack } from './lib/stack'
import { now } from './lib/stats'

const EVENTS = 10_000

export type ReplayResult = { events: number; ms: number }

/** A client that reconnects from the start of a 10,000-event log: time until it has all of it. */
export async function replayBenchmark(stack: BenchStack): Promise<ReplayResult> {
  const sessionId = await idleSession(stack)
  try {
    await call(stack, `/v1/sessions/${sessionId}/messages?wait=true&timeout=600`, { text: script({ stamp: EVENTS }) })
    const { lastEventId } = await call(stack, `/v1/sessions/${sessionId}`)
    const t0 = now()
    const events = await readEvents(stack, sessionId, { after: 0, done: (e) => e.id === lastEventId })
    return { events: events.length, ms: now() - t0 }
  } finally {
    await call(stack, `/v1/sessions/${sessionId}`, undefined, 'DELETE')
  }
}
