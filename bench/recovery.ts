import { call, endSession, idleSession, type BenchStack } from './lib/stack'
import { KEY, readEvents, type Arrival } from './lib/sse'
import { median, now } from './lib/stats'

/** Kills of a session's opencode, one after another (each waits for the restart). */
export const CRASHES = 5
/** A client's open-and-close cycles of one session's stream in a row. */
export const STORM_CYCLES = 150
/** The most streams a session serves (docs/api.md, Events). */
const MAX_STREAMS = 100

export type CrashResult = {
  samples: number
  /** kill to the `sandbox.status` restarting, by the session's stamp, p50 */
  noticedMs: number
  /** kill to the `sandbox.status` ready after it, by the session's stamp, p50 */
  backMs: number
  /** how the session named the cause, by count */
  causes: Record<string, number>
}

export type StormResult = {
  cycles: number
  refused: number
  /** one open-read-close cycle, p50 */
  cycleMs: number
  /** what a real 101st reader got with 100 reading, and how long it waited for it */
  extraStatus: number
  extraMs: number
}

async function opencodePidOf(stack: BenchStack, sessionId: string): Promise<number> {
  const res = await fetch(`${stack.sandboxHostUrl}/sandboxes`, { headers: { authorization: `Bearer ${stack.sandboxHostToken}` } })
  const listing = (await res.json()) as { metadata: Record<string, string>; opencodePid?: number }[]
  const pid = listing.find((s) => s.metadata.sessionId === sessionId)?.opencodePid
  if (pid === undefined) throw new Error(`no running opencode for ${sessionId}`)
  return pid
}

/**
 * Crash noticed: an idle session's opencode killed (SIGKILL) from outside, the time until the
 * session says it is restarting it, and until it is ready again; by the stamps the session puts on
 * its events, against the moment of the kill (one clock: the same machine).
 */
export async function crashBenchmark(stack: BenchStack, samples = CRASHES): Promise<CrashResult> {
  const id = await idleSession(stack)
  const noticed: number[] = []
  const back: number[] = []
  const causes: Record<string, number> = {}
  try {
    for (let i = 0; i < samples; i++) {
      const pid = await opencodePidOf(stack, id)
      const { lastEventId } = await call(stack, `/v1/sessions/${id}`)
      const stamp = (e: Arrival) => Date.parse(e.data.at as string)
      const reading = readEvents(stack.url, id, {
        after: lastEventId as number,
        done: (e) => e.event === 'sandbox.status' && e.data.state === 'ready',
        keep: (e) => e.event === 'sandbox.status',
        timeoutMs: 120_000,
      })
      // The reader is connected once the session has written to it; a moment is enough here.
      await new Promise((r) => setTimeout(r, 200))
      const killedAt = now()
      process.kill(pid, 'SIGKILL')
      const events = await reading
      const restarting = events.find((e) => e.data.state === 'restarting')
      if (!restarting) throw new Error(`no restart after the kill: ${events.map((e) => e.data.state).join(', ')}`)
      noticed.push(stamp(restarting) - killedAt)
      back.push(stamp(events.at(-1)!) - killedAt)
      const cause = String(restarting.data.detail ?? restarting.data.reason)
      causes[cause] = (causes[cause] ?? 0) + 1
    }
  } finally {
    await endSession(stack, id)
  }
  return { samples, noticedMs: median(noticed), backMs: median(back), causes }
}

const eventsUrl = (stack: BenchStack, id: string) => `${stack.url}/v1/sessions/${id}/events`
const auth = { authorization: `Bearer ${KEY}` }

/**
 * Reconnect storm: one client opens a session's stream, reads its first chunk and hangs up,
 * STORM_CYCLES times in a row; then 100 clients that stay and read, and one more.
 */
export async function stormBenchmark(stack: BenchStack): Promise<StormResult> {
  const id = await idleSession(stack)
  const held: AbortController[] = []
  try {
    let refused = 0
    const cycles: number[] = []
    for (let i = 0; i < STORM_CYCLES; i++) {
      const t0 = now()
      const hangUp = new AbortController()
      const res = await fetch(eventsUrl(stack, id), { headers: auth, signal: hangUp.signal })
      if (res.status === 200) await res.body!.getReader().read()
      else {
        refused++
        await res.body?.cancel()
      }
      hangUp.abort()
      cycles.push(now() - t0)
    }
    const readers = await Promise.all(
      Array.from({ length: MAX_STREAMS }, async () => {
        const stay = new AbortController()
        held.push(stay)
        const res = await fetch(eventsUrl(stack, id), { headers: auth, signal: stay.signal })
        if (res.status !== 200) throw new Error(`reader ${held.length} answered ${res.status}`)
        const reader = res.body!.getReader()
        await reader.read()
        // Reads on, as a real client does, until the end of the run.
        void (async () => {
          for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return
        })()
      }),
    )
    const t0 = now()
    const extra = await fetch(eventsUrl(stack, id), { headers: auth })
    const extraMs = now() - t0
    await extra.body?.cancel()
    return { cycles: STORM_CYCLES, refused, cycleMs: median(cycles), extraStatus: extra.status, extraMs: readers.length ? extraMs : NaN }
  } finally {
    for (const stay of held) stay.abort()
    await endSession(stack, id)
  }
}
