import { gatewayProviderOf } from '../test/helpers/gateway-token'
import { workerdCpuMs } from './lib/procs'
import { endSession, idleSession, type BenchStack } from './lib/stack'
import { median, now } from './lib/stats'

/**
 * The model gateway's cost: the same streamed model answer read straight from the scripted model
 * (with the real key) and through the Worker's gateway (with a session's gateway token), rounds
 * alternating. Time to first token and to the last one, from sending the request; and the
 * workerd processes' CPU time while the gateway passes the pieces on.
 */

export const GATEWAY_PIECES = 500
export const GATEWAY_DELAY_MS = 2
const ROUNDS = 8

export type GatewayResult = {
  rounds: number
  direct: { firstMs: number; lastMs: number }
  gateway: { firstMs: number; lastMs: number }
  /** workerd's CPU time per 1,000 pieces passed through the gateway */
  cpuMsPer1000: number
}

/** The gateway's URL and token a session's sandbox holds, read from its opencode's environment as the agent could. */
export async function gatewayProvider(stack: BenchStack, sessionId: string): Promise<{ baseURL: string; apiKey: string }> {
  const res = await fetch(`${stack.sandboxHostUrl}/sandboxes`, { headers: { authorization: `Bearer ${stack.sandboxHostToken}` } })
  const sandbox = ((await res.json()) as { metadata: Record<string, string>; opencodePid?: number }[]).find((s) => s.metadata.sessionId === sessionId)
  return gatewayProviderOf(sandbox!.opencodePid!)
}

export async function gatewayToken(stack: BenchStack, sessionId: string): Promise<string> {
  return (await gatewayProvider(stack, sessionId)).apiKey
}

/** A streamed chat completion of `pieces` words, `delayMs` apart, from the scripted model at `url` (straight or through the gateway). */
export async function streamedCompletion(url: string, key: string, round: number, pieces = GATEWAY_PIECES, delayMs = GATEWAY_DELAY_MS) {
  const script = { reply: Array.from({ length: pieces }, (_, i) => `w${i}`).join(' '), delayMs }
  const res = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'offline-demo',
      stream: true,
      messages: [{ role: 'user', content: `round ${round} <<script ${JSON.stringify(script)}>>` }],
    }),
  })
  if (res.status !== 200 || !res.body) throw new Error(`${url} answered ${res.status}`)
  return res as Response & { body: ReadableStream<Uint8Array> }
}

async function timedCompletion(url: string, key: string, round: number, pieces = GATEWAY_PIECES, delayMs = GATEWAY_DELAY_MS): Promise<{ firstMs: number; lastMs: number }> {
  const t0 = now()
  const res = await streamedCompletion(url, key, round, pieces, delayMs)
  let firstMs = NaN
  let text = ''
  const decoder = new TextDecoder()
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true })
    if (Number.isNaN(firstMs) && text.includes('"content":"w0')) firstMs = now() - t0
  }
  if (!text.includes('[DONE]')) throw new Error('the answer ended early')
  return { firstMs, lastMs: now() - t0 }
}

/** workerd's CPU time per piece (µs) of completions through the gateway at a given pace, median of `rounds`. */
export async function gatewayCpuPerPiece(stack: BenchStack, pieces: number, delayMs: number, rounds = 3): Promise<number> {
  const sessionId = await idleSession(stack)
  try {
    const token = await gatewayToken(stack, sessionId)
    const gatewayUrl = `${stack.url}/v1/gateway/local`
    await timedCompletion(gatewayUrl, token, -1, pieces, delayMs)
    const cpu: number[] = []
    for (let round = 0; round < rounds; round++) {
      const cpuBefore = workerdCpuMs()
      await timedCompletion(gatewayUrl, token, round, pieces, delayMs)
      cpu.push(((workerdCpuMs() - cpuBefore) / pieces) * 1000)
    }
    return median(cpu)
  } finally {
    await endSession(stack, sessionId)
  }
}

export async function gatewayBenchmark(stack: BenchStack): Promise<GatewayResult> {
  const sessionId = await idleSession(stack)
  try {
    const token = await gatewayToken(stack, sessionId)
    const directUrl = stack.model!.url
    const gatewayUrl = `${stack.url}/v1/gateway/local`
    await timedCompletion(directUrl, stack.modelKey!, -1)
    await timedCompletion(gatewayUrl, token, -2)
    const direct: { firstMs: number; lastMs: number }[] = []
    const through: { firstMs: number; lastMs: number }[] = []
    const cpu: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await timedCompletion(directUrl, stack.modelKey!, round))
      const cpuBefore = workerdCpuMs()
      through.push(await timedCompletion(gatewayUrl, token, round))
      cpu.push(((workerdCpuMs() - cpuBefore) / GATEWAY_PIECES) * 1000)
    }
    const summary = (xs: { firstMs: number; lastMs: number }[]) => ({ firstMs: median(xs.map((x) => x.firstMs)), lastMs: median(xs.map((x) => x.lastMs)) })
    return { rounds: ROUNDS, direct: summary(direct), gateway: summary(through), cpuMsPer1000: median(cpu) }
  } finally {
    await endSession(stack, sessionId)
  }
}
