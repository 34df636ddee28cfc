import type { Event as AgentEvent } from '@opencode-ai/sdk/v2/client'
import { frame } from '../src/events/sse'
import { agentEventSplitter } from '../src/opencode/event-stream'
import { AgentEventTranslator } from '../src/events/translate'
import { gatewayCpuPerPiece } from './gateway'
import { startDirectOpencode } from './lib/opencode'
import { script, type BenchStack } from './lib/stack'
import { median, now } from './lib/stats'
import type { Pace } from './relay'

const REPEATS = 20
const READ_CHARS = 64 * 1024

export type StageResult = {
  /** opencode's events in one reply, and the public events they became */
  agentEvents: number
  publicEvents: number
  /** microseconds per opencode event: split off the stream (eventsource-parser, 64 KiB pieces) and parsed */
  parseUs: number
  /** microseconds per opencode event: translated into public events */
  translateUs: number
  /** microseconds per public event: its data serialized and framed for SSE */
  frameUs: number
  /** workerd's CPU per model piece passed through the gateway at the same pace (µs) */
  gatewayUs: number
}

/**
 * The pure stages of the relay, timed apart: workerd's clock stands still while a Worker
 * computes, so they are timed here, in Node's V8, on the events of one real reply (opencode's
 * own, recorded from an opencode of our own on the scripted model). What the Worker spends
 * beyond them per event is the gateway (each delta was a model piece that passed it first,
 * measured here at the same pace), storage, RPC and streams.
 */
export async function relayStagesBenchmark(stack: BenchStack, pace: Pace): Promise<StageResult> {
  const oc = await startDirectOpencode(stack.model!.url, stack.modelKey)
  let events: AgentEvent[]
  try {
    events = await recordReply(oc.client, oc.sessionId, script({ reply: 'x'.repeat(pace.deltas), chunks: pace.deltas, delayMs: pace.delayMs }))
  } finally {
    await oc.close()
  }
  const wire = events.map((ev) => `data: ${JSON.stringify(ev)}\n\n`).join('')
  const sessionId = events.map((ev) => AgentEventTranslator.sessionOf(ev)).find((id) => id !== undefined)!
  // As the session reads opencode's stream: pieces of up to 64 KiB (its reads), split and parsed.
  const parse = timeEach(() => {
    const split = agentEventSplitter()
    for (let at = 0; at < wire.length; at += READ_CHARS) split(wire.slice(at, at + READ_CHARS))
  })
  let published: ReturnType<AgentEventTranslator['translate']> = []
  const translate = timeEach(() => {
    const translator = new AgentEventTranslator(sessionId, '/workspace')
    published = events.flatMap((ev) => translator.translate(ev))
  })
  const framing = timeEach(() => {
    published.forEach((pub, i) => frame({ seq: i + 1, type: pub.type, data: JSON.stringify(pub.data) }))
  })
  const gatewayUs = await gatewayCpuPerPiece(stack, pace.deltas, pace.delayMs)
  return {
    gatewayUs,
    agentEvents: events.length,
    publicEvents: published.length,
    parseUs: (parse * 1000) / events.length,
    translateUs: (translate * 1000) / events.length,
    frameUs: (framing * 1000) / published.length,
  }
}

/** Median milliseconds of a pass, after one unmeasured pass to warm the JIT. */
function timeEach(pass: () => void): number {
  pass()
  const times: number[] = []
  for (let i = 0; i < REPEATS; i++) {
    const start = now()
    pass()
    times.push(now() - start)
  }
  return median(times)
}

async function recordReply(client: Awaited<ReturnType<typeof startDirectOpencode>>['client'], sessionId: string, text: string): Promise<AgentEvent[]> {
  const controller = new AbortController()
  const sub = await client.event.subscribe({}, { signal: controller.signal })
  const stream = sub.stream[Symbol.asyncIterator]()
  await stream.next()
  const events: AgentEvent[] = []
  await client.session.promptAsync({ sessionID: sessionId, parts: [{ type: 'text', text }] })
  try {
    for (;;) {
      const { value, done } = await stream.next()
      if (done) throw new Error('the event stream ended mid-reply')
      const ev = value as AgentEvent
      events.push(ev)
      if (ev.type === 'session.status' && ev.properties.sessionID === sessionId && ev.properties.status.type === 'idle') return events
    }
  } finally {
    controller.abort()
  }
}
