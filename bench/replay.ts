import { isIdle, readEvents } from './lib/sse'
import { call, endSession, idleSession, lastEventId, script, type BenchStack } from './lib/stack'
import { median, now, sleep } from './lib/stats'

/** Deltas in the one long reply; with the turn's other events the log ends near 10,000. */
const DELTAS = 9_980
const ROUNDS = 3

export type ReplayResult = {
  /** events the log holds (the last id) and how many a reconnecting client got */
  logged: number
  replayed: number
  /** time from the request to the last event, median of the rounds */
  afterMs: number
  lastEventIdMs: number
}

/**
 * Replay: a long reply logs about 10,000 events; then a client reconnects from the start,
 * with `?after=0` and with `Last-Event-ID: 0` (alternating), until it has the last one.
 */
export async function replayBenchmark(stack: BenchStack): Promise<ReplayResult> {
  const sessionId = await idleSession(stack)
  try {
    // Paced at about a piece a millisecond: an unpaced burst of this size reaches the Worker as
    // one batch larger than a client's bound of outstanding frames (docs/operations.md, "When things break").
    const turn = readEvents(stack.url, sessionId, { after: await lastEventId(stack, sessionId), done: isIdle, keep: () => false, timeoutMs: 300_000 })
    turn.catch(() => {}) // awaited below
    await sleep(200)
    await call(stack, `/v1/sessions/${sessionId}/messages`, { text: script({ reply: 'x'.repeat(DELTAS), chunks: DELTAS, delayMs: 1 }) })
    await turn
    let logged = 0
    for (;;) {
      const s = await call(stack, `/v1/sessions/${sessionId}`)
      if (s.status === 'idle' && s.queued === 0 && s.lastEventId === logged) break
      logged = s.lastEventId as number
      await sleep(500)
    }
    // Once untimed, keeping every event, to count what a reconnecting client gets.
    const replayed = (await readEvents(stack.url, sessionId, { after: 0, done: (e) => e.id === logged })).length
    const after: number[] = []
    const header: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const way of ['after', 'header'] as const) {
        const t0 = now()
        const events = await readEvents(stack.url, sessionId, {
          ...(way === 'after' ? { after: 0 } : { lastEventId: 0 }),
          done: (e) => e.id === logged,
          keep: () => false,
        })
        ;(way === 'after' ? after : header).push(events.at(-1)!.at - t0)
      }
    }
    return { logged, replayed, afterMs: median(after), lastEventIdMs: median(header) }
  } finally {
    await endSession(stack, sessionId)
  }
}
