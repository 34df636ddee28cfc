import type { AnyMessage, Stream } from '@agentclientprotocol/sdk'
import { sleep } from '../lib/sleep'
import { authHeaders } from '../opencode/client'
import type { SandboxEndpoint } from '../sandbox/provider'
import { tagRequest, untagAnswer } from './stream-ids'

/** How the stream to the bridge ended, unless we closed it: the session finds out why. */
export type BridgeEnd = { reason: 'closed' | 'silent' | 'failed'; detail?: string }

/** `silenceMs`: the bridge writes an empty line every 10 s; three missed mean the stream is dead. `openMs`: it answers at once. */
export type BridgeTimings = { silenceMs: number; agentOpenMs: number; agentCallMs: number }

/**
 * ACP's JSON-RPC to the agent in a sandbox, through its bridge (agents/acp-bridge.mjs): the
 * agent's messages read line by line from `GET /acp`, ours each `POST /acp`. Shaped as the SDK's
 * Stream, so its ClientSideConnection speaks over it as over a pipe.
 */
export async function openBridge(endpoint: SandboxEndpoint, password: string, timings: BridgeTimings, onEnd: (end: BridgeEnd) => void) {
  const headers = authHeaders(endpoint, password)
  const tag = crypto.randomUUID().slice(0, 8)
  const controller = new AbortController()
  let ended = false
  const finish = (end: BridgeEnd) => {
    if (ended) return
    ended = true
    controller.abort()
    onEnd(end)
  }
  // The deadline is the answer's, not the stream's: the signal of a fetch also ends its body.
  const opening = setTimeout(() => controller.abort(), timings.agentOpenMs)
  let res: Response
  try {
    res = await fetch(`${endpoint.url}/acp`, { headers, signal: controller.signal })
  } finally {
    clearTimeout(opening)
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel()
    throw new Error(`the ACP bridge answered ${res.status}`)
  }
  // An answer to another stream's request: the prompt a stream cut off (a Worker restart) left running ends with one.
  let otherAnswered!: () => void
  const othersAnswer = new Promise<void>((resolve) => (otherAnswered = resolve))
  let lastHeard = Date.now()
  const watchdog = setInterval(() => {
    if (Date.now() - lastHeard > timings.silenceMs) finish({ reason: 'silent' })
  }, timings.silenceMs / 6)
  const lines = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ''
  const readable = new ReadableStream<AnyMessage>({
    async pull(out) {
      for (;;) {
        const newline = buffered.indexOf('\n')
        if (newline >= 0) {
          const line = buffered.slice(0, newline).trim()
          buffered = buffered.slice(newline + 1)
          if (!line) continue
          let message: AnyMessage | undefined
          try {
            message = untagAnswer(JSON.parse(line) as AnyMessage, tag)
          } catch {
            continue
          }
          if (!message) {
            otherAnswered()
            continue
          }
          out.enqueue(message)
          return
        }
        let next: ReadableStreamReadResult<string>
        try {
          next = await lines.read()
        } catch (err) {
          clearInterval(watchdog)
          finish({ reason: 'failed', detail: err instanceof Error ? err.message : String(err) })
          out.close()
          return
        }
        if (next.done) {
          clearInterval(watchdog)
          finish({ reason: 'closed' })
          out.close()
          return
        }
        lastHeard = Date.now()
        buffered += next.value
      }
    },
    cancel() {
      clearInterval(watchdog)
      void lines.cancel().catch(() => {})
    },
  })
  const writable = new WritableStream<AnyMessage>({
    async write(message) {
      const sent = await fetch(`${endpoint.url}/acp`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(tagRequest(message, tag)),
        signal: AbortSignal.timeout(timings.agentCallMs),
      })
      await sent.body?.cancel()
      if (!sent.ok) throw new Error(`the ACP bridge refused a message (${sent.status})`)
    },
  })
  const stream: Stream = { readable, writable }
  return {
    stream,
    /** this bridge and its agent process: another one after the agent restarted */
    instance: res.headers.get('x-bridge-instance') ?? undefined,
    /** Whether an answer to another stream's request came on this one (or comes within `ms`). */
    otherStreamAnswered: (ms: number): Promise<boolean> => Promise.race([othersAnswer.then(() => true), sleep(ms).then(() => false)]),
    close() {
      ended = true
      clearInterval(watchdog)
      controller.abort()
      void lines.cancel().catch(() => {})
    },
  }
}
