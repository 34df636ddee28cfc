import { isIdle, readEvents, stampsOf } from './lib/sse'
import { gatewayProvider } from './gateway'
import { startDirectOpencode, type DirectOpencode } from './lib/opencode'
import { workerdCpuMs } from './lib/procs'
import { behindProxy, call, endSession, idleSession, lastEventId, script, type BenchStack } from './lib/stack'
import { median, now, quantile, sleep } from './lib/stats'

const ROUNDS = 3

/**
 * How fast the model writes: thousands of deltas at once (a burst, as a tool's output or a fast
 * model's backlog arrives), about a millisecond apart (a stress: faster than any model streams),
 * or fewer about 5 ms apart (200 a second, a fast model's pace).
 */
export type Pace = { deltas: number; delayMs: number }
export const BURST: Pace = { deltas: 3000, delayMs: 0 }
export const STRESS: Pace = { deltas: 3000, delayMs: 1 }
export const MODEL_PACE: Pace = { deltas: 1000, delayMs: 5 }

const prompt = (pace: Pace) => script({ reply: 'x'.repeat(pace.deltas), chunks: pace.deltas, delayMs: pace.delayMs, stamp: true })

type Run = { lastDeltaMs: number; idleMs: number; latencies: number[]; deltas: number; cpuMsPer1000?: number }
export type Side = { lastDeltaMs: number; idleMs: number; p50: number; p99: number; deltas: number; cpuMsPer1000?: number }
export type RelayResult = {
  deltas: number
  delayMs: number
  rounds: number
  direct: Side
  /** an opencode of our own whose model calls pass the Worker's gateway, as the session's do: the gateway's share, apart from the relay's */
  viaGateway: Side
  relay: Side
  /** the relay read from the Worker behind wrangler dev's proxy, as a deployment serves it */
  noProxy: Side
  /** a relay run with `?raw=1`: opencode's events as forwarded before any storage, and the stored deltas of the same run */
  raw: Side
  rawStored: Side
}

/**
 * Arrival minus send time of each stamped piece (a delta may carry several), and the time from
 * the prompt to the last one and to idle.
 */
function measure(start: number, stamped: { text: unknown; at: number }[], idleAt: number): Run {
  const pairs = stamped.flatMap((s) => stampsOf(s.text).map((sent) => ({ sent, at: s.at })))
  return {
    lastDeltaMs: Math.max(...pairs.map((p) => p.at)) - start,
    idleMs: idleAt - start,
    latencies: pairs.map((p) => p.at - p.sent),
    deltas: pairs.length,
  }
}

/** The prompt sent to our own opencode, its event stream read through the SDK. */
async function runDirect(oc: DirectOpencode, text: string): Promise<Run> {
  const controller = new AbortController()
  const sub = await oc.client.event.subscribe({}, { signal: controller.signal })
  const stream = sub.stream[Symbol.asyncIterator]()
  await stream.next() // server.connected: the subscription is live
  const stamped: { text: unknown; at: number }[] = []
  const start = now()
  await oc.client.session.promptAsync({ sessionID: oc.sessionId, parts: [{ type: 'text', text }] })
  try {
    for (;;) {
      const { value, done } = await stream.next()
      if (done) throw new Error('the direct event stream ended mid-reply')
      const at = now()
      const ev = value as { type: string; properties: { sessionID?: string; delta?: string; status?: { type: string } } }
      if (ev.type === 'message.part.delta') stamped.push({ text: ev.properties.delta, at })
      else if (ev.type === 'session.status' && ev.properties.sessionID === oc.sessionId && ev.properties.status?.type === 'idle') return measure(start, stamped, at)
    }
  } finally {
    controller.abort()
  }
}

type Via = { url: string; headers?: Record<string, string> }

/**
 * The same prompt through the Worker, read at `via` (the proxy or behind it); with `raw`,
 * opencode's own forwarded events are measured too. The workerd processes' CPU time over the
 * round, per 1,000 model pieces relayed.
 */
async function runRelay(stack: BenchStack, sessionId: string, text: string, via: Via, raw = false): Promise<{ stored: Run; raw?: Run }> {
  const after = await lastEventId(stack, sessionId)
  const reading = readEvents(via.url, sessionId, {
    after,
    raw,
    headers: via.headers,
    done: isIdle,
    keep: (e) => e.event === 'message.delta' || (e.event === 'agent.event' && e.data.type === 'message.part.delta'),
  })
  reading.catch(() => {}) // awaited below; this only keeps an early failure from counting as unhandled
  await sleep(200) // the stream is open and caught up
  const cpuBefore = workerdCpuMs()
  const start = now()
  await call(stack, `/v1/sessions/${sessionId}/messages`, { text })
  const events = await reading
  const cpuMs = workerdCpuMs() - cpuBefore
  const idleAt = events.at(-1)!.at
  const stored = measure(start, events.filter((e) => e.event === 'message.delta').map((e) => ({ text: e.data.text, at: e.at })), idleAt)
  // Per model piece relayed, not per event logged: consecutive pieces may share one event.
  stored.cpuMsPer1000 = (cpuMs / stored.deltas) * 1000
  if (!raw) return { stored }
  const forwarded = events.filter((e) => e.event === 'agent.event').map((e) => ({ text: e.data.properties?.delta, at: e.at }))
  return { stored, raw: measure(start, forwarded, idleAt) }
}

function summarize(runs: Run[]): Side {
  const latencies = runs.flatMap((r) => r.latencies)
  const cpu = runs.flatMap((r) => (r.cpuMsPer1000 === undefined ? [] : [r.cpuMsPer1000]))
  return {
    lastDeltaMs: median(runs.map((r) => r.lastDeltaMs)),
    idleMs: median(runs.map((r) => r.idleMs)),
    ...(cpu.length && { cpuMsPer1000: median(cpu) }),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    deltas: median(runs.map((r) => r.deltas)),
  }
}

/**
 * Relay overhead: the same long streamed reply read straight from an opencode of our own, through
 * the Worker's SSE by way of wrangler dev's proxy, and from the Worker behind the proxy, all
 * opencodes on the stack's scripted model, rounds alternating. `deltas` counts the model's
 * pieces, however many of them the Worker sent in one delta.
 */
export async function relayBenchmark(stack: BenchStack, pace: Pace): Promise<RelayResult> {
  const text = prompt(pace)
  const oc = await startDirectOpencode(stack.model!.url, stack.modelKey)
  let gated: DirectOpencode | undefined
  let sessionId: string | undefined
  const direct: Run[] = []
  const viaGateway: Run[] = []
  const relay: Run[] = []
  const noProxy: Run[] = []
  const raw: Run[] = []
  const rawStored: Run[] = []
  try {
    sessionId = await idleSession(stack)
    const provider = await gatewayProvider(stack, sessionId)
    gated = await startDirectOpencode(provider.baseURL, provider.apiKey)
    // One unmeasured turn each way, so first-turn costs (title generation, caches) stay out.
    const proxy: Via = { url: stack.url }
    const behind = behindProxy(stack)
    await runDirect(oc, text)
    await runDirect(gated, text)
    await runRelay(stack, sessionId, text, proxy)
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await runDirect(oc, text))
      viaGateway.push(await runDirect(gated, text))
      relay.push((await runRelay(stack, sessionId, text, proxy)).stored)
      noProxy.push((await runRelay(stack, sessionId, text, behind)).stored)
      const withRaw = await runRelay(stack, sessionId, text, proxy, true)
      rawStored.push(withRaw.stored)
      raw.push(withRaw.raw!)
    }
  } finally {
    await oc.close()
    await gated?.close()
    if (sessionId) await endSession(stack, sessionId)
  }
  return {
    deltas: pace.deltas,
    delayMs: pace.delayMs,
    rounds: ROUNDS,
    direct: summarize(direct),
    viaGateway: summarize(viaGateway),
    relay: summarize(relay),
    noProxy: summarize(noProxy),
    raw: summarize(raw),
    rawStored: summarize(rawStored),
  }
}
