import { call, idleSession, readEvents, script, type BenchStack } from './lib/stack'
import { sleep } from './lib/stats'

const DELTAS = 2000

export type FanoutResult = { clients: number; eventsPerSecondPerClient: number }[]

/** One session's long reply read by 1, then 50, clients at once: events per second each client gets. */
export async function fanoutBenchmark(stack: BenchStack): Promise<FanoutResult> {
  const sessionId = await idleSession(stack)
  const out: FanoutResult = []
  try {
    for (const clients of [1, 50]) {
      const { lastEventId } = await call(stack, `/v1/sessions/${sessionId}`)
      const readers = Array.from({ length: clients }, () =>
        readEvents(stack, sessionId, { after: lastEventId as number, done: (e) => e.event === 'session.status' && e.data.status === 'idle' }),
      )
      await sleep(300)
      await call(stack, `/v1/sessions/${sessionId}/messages`, { text: script({ stamp: DELTAS }) })
      const results = await Promise.all(readers)
      const rates = results.map((events) => {
        const deltas = events.filter((e) => e.event === 'message.delta')
        const span = (deltas.at(-1)!.at - deltas[0]!.at) / 1000
        return deltas.length / span
      })
      out.push({ clients, eventsPerSecondPerClient: rates.reduce((a, b) => a + b, 0) / rates.length })
    }
  } finally {
    await call(stack, `/v1/sessions/${sessionId}`, undefined, 'DELETE')
  }
  return out
}
