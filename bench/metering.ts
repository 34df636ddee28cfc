import { UsageMeter } from '../src/gateway/meter'
import { meterCopy } from '../src/gateway/meter-copy'
import { sleep } from '../src/lib/sleep'
import { GATEWAY_DELAY_MS, GATEWAY_PIECES, streamedCompletion } from './gateway'
import type { BenchStack } from './lib/stack'
import { median } from './lib/stats'

/**
 * What metering costs the gateway per model piece, apart from everything else it does: workerd's
 * clock stands still while a Worker computes, so this is timed in Node's V8. The scripted
 * model's streamed answer is recorded as it arrived (its chunks, in order), then replayed at the
 * gateway benchmark's pace to a client twice, rounds alternating: passed straight on, and passed
 * on as the gateway does, tee()d with the meter reading its copy beside it (meterCopy and
 * UsageMeter, src/api/gateway.ts). CPU time of this process per piece, each way; and the same
 * unpaced (every chunk at once), where nothing but the work itself is timed.
 */

const ROUNDS = 8

export type MeteringPace = { delayMs: number; plainUs: number; meteredUs: number }
export type MeteringResult = { pieces: number; chunks: number; rounds: number; paced: MeteringPace; unpaced: MeteringPace }

/** The recorded answer as a byte stream (what fetch gives the Worker), a chunk every `delayMs`. */
function replay(chunks: Uint8Array[], delayMs: number): ReadableStream<Uint8Array> {
  let next = 0
  return new ReadableStream({
    type: 'bytes',
    async pull(controller) {
      if (next >= chunks.length) {
        controller.close()
        controller.byobRequest?.respond(0)
        return
      }
      if (next > 0 && delayMs > 0) await sleep(delayMs)
      controller.enqueue(chunks[next++]!.slice())
    },
  })
}

const client = () => new WritableStream<Uint8Array>()

async function passed(chunks: Uint8Array[], delayMs: number, metered: boolean) {
  const answer = replay(chunks, delayMs)
  if (!metered) return answer.pipeTo(client())
  const [toClient, copy] = answer.tee()
  const [, read] = await Promise.all([toClient.pipeTo(client()), meterCopy(copy, new UsageMeter(true), new AbortController().signal)])
  if (!read.whole || !read.used.stated) throw new Error('the meter missed the usage')
}

/** This process's CPU time (user and system), in µs. */
const cpuUs = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}

async function pace(chunks: Uint8Array[], delayMs: number): Promise<MeteringPace> {
  await passed(chunks, delayMs, false)
  await passed(chunks, delayMs, true)
  const plain: number[] = []
  const metered: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    for (const [on, out] of [[false, plain], [true, metered]] as const) {
      const before = cpuUs()
      await passed(chunks, delayMs, on)
      out.push((cpuUs() - before) / GATEWAY_PIECES)
    }
  }
  return { delayMs, plainUs: median(plain), meteredUs: median(metered) }
}

export async function meteringBenchmark(stack: BenchStack): Promise<MeteringResult> {
  const res = await streamedCompletion(stack.model!.url, stack.modelKey!, -3)
  const chunks: Uint8Array[] = []
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk)
  return { pieces: GATEWAY_PIECES, chunks: chunks.length, rounds: ROUNDS, paced: await pace(chunks, GATEWAY_DELAY_MS), unpaced: await pace(chunks, 0) }
}
