import type { Metered, UsageMeter } from './meter'

/** The largest read of the meter's copy: a burst's pieces queued meanwhile come in one. */
const READ_BYTES = 64 * 1024
/** How long the meter lets its copy fill after a read that emptied it. */
export const METER_PAUSE_MS = 20

/**
 * Reads the meter's branch of a tee()d answer to its end and returns what it used. The other
 * branch goes to the client as the runtime's own stream, so no JavaScript runs per chunk on the
 * client's path; this branch is read in large pieces, pausing after each read that drained it,
 * so that a burst of small chunks costs a few reads instead of one each (a read is what costs,
 * not the bytes). What the provider sent is read whole until `stop` (the client has gone, and
 * the answer is to end with it): every token it said it used by then counts. `whole` is whether
 * the answer reached its end.
 */
export async function meterCopy(
  copy: ReadableStream<Uint8Array>,
  meter: UsageMeter,
  stop: AbortSignal,
  pauseMs = METER_PAUSE_MS,
): Promise<{ used: Metered; whole: boolean }> {
  let whole = false
  const reader = copy.getReader({ mode: 'byob' })
  stop.addEventListener('abort', () => void reader.cancel().catch(() => {}))
  try {
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(READ_BYTES))
      if (done || !value) {
        whole = done && !stop.aborted
        break
      }
      meter.push(value)
      if (value.byteLength < READ_BYTES) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  } catch {
    // the provider broke off: what it had said by then still counts
  }
  return { used: meter.finish(), whole }
}
