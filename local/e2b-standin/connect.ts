import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * The Connect protocol in JSON mode, server side, as much of it as the e2b SDK's
 * `@connectrpc/connect-web` transport uses: unary calls (plain JSON bodies) and server-streaming
 * calls (5-byte enveloped `application/connect+json` frames, closed by an end-stream frame).
 */

export type ConnectCode =
  | 'canceled'
  | 'unknown'
  | 'invalid_argument'
  | 'deadline_exceeded'
  | 'not_found'
  | 'already_exists'
  | 'permission_denied'
  | 'resource_exhausted'
  | 'failed_precondition'
  | 'unimplemented'
  | 'internal'
  | 'unavailable'
  | 'unauthenticated'

/** The HTTP status a unary error travels with, per the Connect specification. */
const HTTP_STATUS: Record<ConnectCode, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  unauthenticated: 401,
}

export class ConnectError extends Error {
  constructor(
    readonly code: ConnectCode,
    message: string,
  ) {
    super(message)
  }
}

const END_STREAM_FLAG = 0b10

export function isStreamingRequest(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').startsWith('application/connect+json')
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The request message: the whole body for unary calls, the first envelope for streaming ones. */
export async function readMessage<T>(req: IncomingMessage): Promise<T> {
  const body = await readBody(req)
  if (!isStreamingRequest(req)) return JSON.parse(body.length ? body.toString('utf8') : '{}') as T
  if (body.length < 5) throw new ConnectError('invalid_argument', 'missing request envelope')
  const length = body.readUInt32BE(1)
  return JSON.parse(body.subarray(5, 5 + length).toString('utf8')) as T
}

/** The deadline the client set (`Connect-Timeout-Ms`), or undefined when it set none. */
export function requestTimeoutMs(req: IncomingMessage): number | undefined {
  const raw = req.headers['connect-timeout-ms']
  const ms = typeof raw === 'string' ? Number(raw) : NaN
  return Number.isFinite(ms) && ms > 0 ? ms : undefined
}

export function sendUnary(res: ServerResponse, message: unknown) {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify(message))
}

export function sendUnaryError(res: ServerResponse, err: ConnectError) {
  res.writeHead(HTTP_STATUS[err.code], { 'content-type': 'application/json' })
  res.end(JSON.stringify({ code: err.code, message: err.message }))
}

function envelope(flags: number, payload: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(payload), 'utf8')
  const head = Buffer.alloc(5)
  head.writeUInt8(flags, 0)
  head.writeUInt32BE(json.length, 1)
  return Buffer.concat([head, json])
}

export type MessageStream = {
  send(message: unknown): void
  /** Ends the stream, with an error when given; later calls do nothing. */
  end(err?: ConnectError): void
}

/** Opens a server-streaming response; each message is flushed as its own frame at once. */
export function openStream(res: ServerResponse): MessageStream {
  res.writeHead(200, { 'content-type': 'application/connect+json' })
  res.flushHeaders()
  let ended = false
  return {
    send(message) {
      if (!ended && !res.destroyed) res.write(envelope(0, message))
    },
    end(err) {
      if (ended) return
      ended = true
      if (res.destroyed) return
      res.end(envelope(END_STREAM_FLAG, err ? { error: { code: err.code, message: err.message } } : {}))
    },
  }
}
