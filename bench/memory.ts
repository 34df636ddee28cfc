import { gatewayToken } from './gateway'
import { workerdMemory } from './lib/procs'
import { endSession, idleSession, KEY, script, type BenchStack } from './lib/stack'

/**
 * What large bodies cost the Worker in memory (an isolate has 128 MB in production, shared by
 * every object in it): workerd's resident memory sampled every SAMPLE_MS while three sessions
 * each take a message with 10 MiB of files at once (from the send until the agent answered,
 * the files having gone into the sandbox), and while one 30 MB model request passes the gateway.
 * The figure is the peak over the resident memory just before; the largest of ROUNDS, after one
 * unmeasured round (workerd keeps what it once took, so later rounds show less, not more).
 */

const SAMPLE_MS = 25
const ROUNDS = 2
export const FILE_SESSIONS = 3
/** Ten files of 1 MiB: a message's whole allowance. */
export const FILES = 10
const FILE_BYTES = 1024 * 1024
export const GATEWAY_BODY_BYTES = 30 * 1000 * 1000

export type MemoryResult = { filesRiseBytes: number; gatewayRiseBytes: number }

/** The highest resident memory of workerd above where it stood, while `work` runs. */
async function peakRise(work: () => Promise<void>): Promise<number> {
  const before = workerdMemory().rssBytes
  let peak = before
  const timer = setInterval(() => {
    peak = Math.max(peak, workerdMemory().rssBytes)
  }, SAMPLE_MS)
  try {
    await work()
  } finally {
    clearInterval(timer)
  }
  return Math.max(peak, workerdMemory().rssBytes) - before
}

/** A message with FILES text files of FILE_BYTES each, different per round and session. */
function messageWithFiles(tag: string): string {
  const attachments = Array.from({ length: FILES }, (_, i) => {
    const line = `${tag} file ${i}: ${'x'.repeat(100)}\n`
    const data = Buffer.from(line.repeat(Math.ceil(FILE_BYTES / line.length))).subarray(0, FILE_BYTES)
    return { filename: `f${i}.txt`, mime: 'text/plain', data: data.toString('base64') }
  })
  return JSON.stringify({ text: script({ reply: 'got them' }), attachments })
}

async function sendAndWait(stack: BenchStack, sessionId: string, body: string) {
  const res = await fetch(`${stack.url}/v1/sessions/${sessionId}/messages?wait=true&timeout=240`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body,
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`a message with files answered ${res.status}: ${text.slice(0, 300)}`)
}

async function largeModelRequest(stack: BenchStack, token: string, round: number) {
  const filler = 'lorem ipsum dolor sit amet, '.repeat(Math.ceil(GATEWAY_BODY_BYTES / 28))
  const body = JSON.stringify({ model: 'offline-demo', stream: true, max_tokens: 100, messages: [{ role: 'user', content: `round ${round} ${script({ reply: 'ok' })} ${filler}` }] })
  const res = await fetch(`${stack.url}/v1/gateway/local/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body.slice(0, GATEWAY_BODY_BYTES - 3) + '"}]}',
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`a large model request answered ${res.status}: ${text.slice(0, 300)}`)
}

export async function memoryBenchmark(stack: BenchStack): Promise<MemoryResult> {
  const sessions = await Promise.all(Array.from({ length: FILE_SESSIONS }, () => idleSession(stack)))
  try {
    const token = await gatewayToken(stack, sessions[0]!)
    let filesRiseBytes = 0
    let gatewayRiseBytes = 0
    for (let round = -1; round < ROUNDS; round++) {
      const bodies = sessions.map((id) => messageWithFiles(`${id} round ${round}`))
      const files = await peakRise(() => Promise.all(sessions.map((id, i) => sendAndWait(stack, id, bodies[i]!))).then(() => {}))
      const gateway = await peakRise(() => largeModelRequest(stack, token, round))
      if (round < 0) continue
      filesRiseBytes = Math.max(filesRiseBytes, files)
      gatewayRiseBytes = Math.max(gatewayRiseBytes, gateway)
    }
    return { filesRiseBytes, gatewayRiseBytes }
  } finally {
    await Promise.all(sessions.map((id) => endSession(stack, id)))
  }
}

