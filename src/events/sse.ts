import type { LoggedEvent } from '../contracts'

/**
 * SSE framing, done once per event so that fan-out to many clients writes the same bytes.
 * Types and ids are our own tokens and data is single-line JSON, so no field can break a frame.
 */
export function frame(ev: LoggedEvent): string {
  return `id: ${ev.seq}\nevent: ${ev.type}\ndata: ${ev.data}\n\n`
}

export function rawFrame(json: string): string {
  return `event: agent.event\ndata: ${json}\n\n`
}

export const PING_FRAME = ': ping\n\n'

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const

/** The cursor a client resumes from: `Last-Event-ID` wins over `?after=`, as browsers send it on reconnect. */
export function resumeCursor(lastEventId: string | undefined, after: number | undefined): number {
  if (lastEventId !== undefined && /^\d+$/.test(lastEventId.trim())) return Number(lastEventId.trim())
  return after ?? 0
}
