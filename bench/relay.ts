import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createOpencodeClient } from '@opencode-ai/sdk/v2/client'
import { modelProviderConfig } from '../local/model-server'
import { freePort } from '../local/ports'
import { PROJECT_ROOT } from '../local/stack'
import { waitForOpencode } from '../src/opencode/client'
import { call, idleSession, readEvents, script, type BenchStack } from './lib/stack'
import { now, quantile, sleep } from './lib/stats'

const DELTAS = 1000
/** Paced, so that the figures show the pipeline's latency rather than a backlog's. */
const PACE_MS = 2
const ROUNDS = 3

export type RelayResult = {
  deltas: number
  direct: { lastDeltaMs: number; p50: number; p99: number }
  relay: { lastDeltaMs: number; p50: number; p99: number }
}

/** An opencode of our own, beside the stack's, to read its event stream directly. */
async function directOpencode(modelUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), 'osw-bench-direct-'))
  const home = join(dir, 'home')
  const workdir = join(dir, 'workspace')
  mkdirSync(home)
  mkdirSync(workdir)
  const port = await freePort()
  const proc = spawn(join(PROJECT_ROOT, 'node_modules', '.bin', 'opencode'), ['serve', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: workdir,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      OPENCODE_SERVER_PASSWORD: 'bench',
      OPENCODE_CONFIG_CONTENT: JSON.stringify({ ...modelProviderConfig(modelUrl), autoupdate: false }),
    },
    stdio: 'ignore',
  })
  const client = createOpencodeClient({
    baseUrl: `http://127.0.0.1:${port}`,
    headers: { authorization: `Basic ${btoa('opencode:bench')}` },
    directory: workdir,
  })
  await waitForOpencode({ url: `http://127.0.0.1:${port}`, headers: {} }, 'bench')
  const session = (await client.session.create({})).data!
  return {
    client,
    sessionId: session.id,
    close: () => {
      proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Latencies (arrival - send time) of stamped deltas, and the time from prompt to the last one. */
function measure(start: number, stamps: { sent: number; at: number }[]) {
  const latencies = stamps.map((s) => s.at - s.sent)
  return { lastDeltaMs: Math.max(...stamps.map((s) => s.at)) - start, latencies }
}

async function runDirect(oc: Awaited<ReturnType<typeof directOpencode>>) {
  const controller = new AbortController()
  const sub = await oc.client.event.subscribe({}, { signal: controller.signal })
  const stream = sub.stream[Symbol.asyncIterator]()
  await stream.next()
  const stamps: { sent: number; at: number }[] = []
  const start = now()
  await oc.client.session.promptAsync({ sessionID: oc.sessionId, parts: [{ type: 'text', text: script({ stamp: DELTAS, delayMs: PACE_MS }) }] })
  for (;;) {
    const { value } = await stream.next()
    const at = now()
    const ev = value as { type: string; properties: { sessionID?: string; delta?: string; status?: { type: string } } }
    if (ev.type === 'message.part.delta' && ev.properties.delta) stamps.push({ sent: Number(ev.properties.delta), at })
    if (ev.type === 'session.status' && ev.properties.status?.type === 'idle' && ev.properties.sessionID === oc.sessionId) break
  }
  controller.abort()
  return measure(start, stamps)
}

async function runRelay(stack: BenchStack, sessionId: string) {
  const { lastEventId } = await call(stack, `/v1/sessions/${sessionId}`)
  const reading = readEvents(stack, sessionId, {
    after: lastEventId as number,
    done: (e) => e.event === 'session.status' && e.data.status === 'idle',
  })
  await sleep(100)
  const start = now()
  await call(stack, `/v1/sessions/${sessionId}/messages`, { text: script({ stamp: DELTAS, delayMs: PACE_MS }) })
  const events = await reading
  const stamps = events.filter((e) => e.event === 'message.delta').map((e) => ({ sent: Number(e.data.text), at: e.at }))
  return measure(start, stamps)
}

/** The same long streamed reply read from opencode directly and through the Worker, alternating. */
export async function relayBenchmark(stack: BenchStack): Promise<RelayResult> {
  const oc = await directOpencode(stack.model!.url)
  const sessionId = await idleSession(stack)
  const direct = { last: [] as number[], lat: [] as number[] }
  const relay = { last: [] as number[], lat: [] as number[] }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const d = await runDirect(oc)
      direct.last.push(d.lastDeltaMs)
      direct.lat.push(...d.latencies)
      const r = await runRelay(stack, sessionId)
      relay.last.push(r.lastDeltaMs)
      relay.lat.push(...r.latencies)
    }
  } finally {
    oc.close()
    await call(stack, `/v1/sessions/${sessionId}`, undefined, 'DELETE')
  }
  const summary = (x: { last: number[]; lat: number[] }) => ({
    lastDeltaMs: quantile(x.last, 0.5),
    p50: quantile(x.lat, 0.5),
    p99: quantile(x.lat, 0.99),
  })
  return { deltas: DELTAS, direct: summary(direct), relay: summary(relay) }
}
