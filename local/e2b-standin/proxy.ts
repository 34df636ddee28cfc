import { request, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { dialPort, PortClosedError } from './network'

/**
 * Traffic to a port of a sandbox, relayed to whatever listens there inside its namespace. Bodies
 * stream both ways chunk by chunk (Server-Sent Events arrive as they are written) and WebSocket
 * upgrades become a plain byte pipe.
 */

/** Headers that belong to one connection, not to the request. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'])

function forwardable(raw: string[]): OutgoingHttpHeaders {
  const headers: Record<string, string | string[]> = {}
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    if (HOP_BY_HOP.has(name)) continue
    const value = raw[i + 1]!
    const prior = headers[name]
    headers[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value]
  }
  return headers
}

/** E2B's answer when the sandbox runs but nothing listens on the port. */
function portClosed(res: ServerResponse, sandboxId: string, port: number) {
  res.writeHead(502, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify({ sandboxId, message: 'The sandbox is running but port is not open', port: String(port) }))
}

export async function proxyRequest(runDir: string, sandboxId: string, port: number, req: IncomingMessage, res: ServerResponse) {
  let socket
  try {
    socket = await dialPort(runDir, port)
  } catch (err) {
    if (err instanceof PortClosedError) return portClosed(res, sandboxId, port)
    throw err
  }
  const upstream = request({
    method: req.method,
    path: req.url,
    headers: forwardable(req.rawHeaders),
    createConnection: () => socket,
  })
  upstream.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardable(answer.rawHeaders))
    // Headers go out now, not with the first body chunk, so a quiet event stream is seen as open.
    res.flushHeaders()
    answer.pipe(res)
    answer.on('error', () => res.destroy())
  })
  upstream.on('error', () => {
    if (res.headersSent) res.destroy()
    else portClosed(res, sandboxId, port)
  })
  // A client that leaves takes its upstream request with it (an SSE reader closing its stream).
  res.on('close', () => upstream.destroy())
  req.pipe(upstream)
}

export async function proxyUpgrade(runDir: string, port: number, req: IncomingMessage, client: Duplex, head: Buffer) {
  let upstream
  try {
    upstream = await dialPort(runDir, port)
  } catch {
    client.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    return
  }
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`]
  for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
  upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
  if (head.length) upstream.write(head)
  client.on('error', () => upstream.destroy())
  upstream.on('error', () => client.destroy())
  upstream.pipe(client).pipe(upstream)
}
