import { isIdle, readEvents } from './lib/sse'
import { call, endSession, idleSession, lastEventId, script, type BenchStack } from './lib/stack'
import { median, now, sleep } from './lib/stats'

export const FANOUT_DELTAS = 3000
/**
 * 100 is the most one session serves (MAX_STREAMS), and the stream that waited for the session to
 * be idle still holds its slot for a while after it closed (a closed stream leaves when a write to
 * it fails): 99 at most.
 */
export const FANOUT_CLIENTS = [1, 50, 99]
const ROUNDS = 2
/** Unpaced: the model sends as fast as opencode takes it, so delivery, not the model, sets the rate. */
const PROMPT = script({ reply: 'x'.repeat(FANOUT_DELTAS), chunks: FANOUT_DELTAS })

export type FanoutLevel = {
  clients: number
  /**
   * per client: the model's pieces it got / (its last delta - the prompt), median over clients
   * and rounds; pieces, not frames, since consecutive pieces may come as one delta
   */
  eventsPerSecondPerClient: number
  /** the same, summed over the clients */
  eventsPerSecondTotal: number
  /** per client: the prompt to its last delta, the slowest client of the median round */
  lastDeltaMs: number
}

/**
 * Fan-out: one session's long reply read by 1, then 50, then 99 SSE clients at once (rounds
 * alternating). A client's rate counts from the prompt, so bursts do not flatter it.
 */
export async function fanoutBenchmark(stack: BenchStack): Promise<FanoutLevel[]> {
  const rates = new Map<number, number[]>(FANOUT_CLIENTS.map((c) => [c, []]))
  const slowest = new Map<number, number[]>(FANOUT_CLIENTS.map((c) => [c, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const clients of FANOUT_CLIENTS) {
      // A session of its own each time: a closed stream leaves its session only when the next event
      // is written to it, so the last level's readers would still count against the 100 it serves.
      const sessionId = await idleSession(stack)
      try {
        await call(stack, `/v1/sessions/${sessionId}/messages?wait=true`, { text: PROMPT }) // unmeasured first turn
        const after = await lastEventId(stack, sessionId)
        const readers = Array.from({ length: clients }, () =>
          readEvents(stack.url, sessionId, { after, done: isIdle, keep: (e) => e.event === 'message.delta' }),
        )
        for (const r of readers) r.catch(() => {}) // awaited below
        await sleep(500) // every stream open and caught up
        const start = now()
        await call(stack, `/v1/sessions/${sessionId}/messages`, { text: PROMPT })
        const results = await Promise.all(readers)
        const spans = results.map((events) => {
          const deltas = events.filter((e) => e.event === 'message.delta')
          const pieces = deltas.reduce((n, e) => n + (e.data.text as string).length, 0) // one 'x' a piece
          return { deltas: pieces, ms: deltas.at(-1)!.at - start }
        })
        rates.get(clients)!.push(...spans.map((s) => (s.deltas / s.ms) * 1000))
        slowest.get(clients)!.push(Math.max(...spans.map((s) => s.ms)))
      } finally {
        await endSession(stack, sessionId)
      }
    }
  }
  return FANOUT_CLIENTS.map((clients) => {
    const perClient = median(rates.get(clients)!)
    return { clients, eventsPerSecondPerClient: perClient, eventsPerSecondTotal: perClient * clients, lastDeltaMs: median(slowest.get(clients)!) }
  })
}
