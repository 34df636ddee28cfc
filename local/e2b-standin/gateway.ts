import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { handleEnvd } from './envd'
import { proxyRequest, proxyUpgrade } from './proxy'
import type { Sandbox, Sandboxes } from './sandboxes'
import { outlastWorkerdKeepAlive } from '../keep-alive'

/**
 * The sandbox URL: every request names its sandbox and port in `E2b-Sandbox-Id` and
 * `E2b-Sandbox-Port` (the SDK adds them when `sandboxUrl` is set). Port 49983 is envd; any other
 * port is relayed to the sandbox, behind its traffic token when it has one. Answers for
 * unknown and paused sandboxes and for bad tokens follow E2B's proxy.
 */

const ENVD_PORT = 49983
const TRAFFIC_TOKEN_HEADER = 'e2b-traffic-access-token'

type Routed = { sb: Sandbox; port: number } | { status: number; body: Record<string, unknown> }

function route(sandboxes: Sandboxes, req: IncomingMessage): Routed {
  const sandboxId = req.headers['e2b-sandbox-id']
  const port = Number(req.headers['e2b-sandbox-port'])
  if (typeof sandboxId !== 'string' || !Number.isInteger(port) || port <= 0 || port > 65535) {
    return { status: 400, body: { message: 'missing header' } }
  }
  const sb = sandboxes.get(sandboxId)
  if (!sb) return { status: 404, body: { sandboxId, message: 'The sandbox was not found' } }
  if (sb.state === 'paused') return { status: 409, body: { sandboxId, message: 'The sandbox is paused', code: 409, canAutoResume: false } }
  if (port !== ENVD_PORT && sb.trafficAccessToken) {
    const given = req.headers[TRAFFIC_TOKEN_HEADER]
    if (given !== sb.trafficAccessToken) {
      const message = given
        ? `Sandbox is secured with traffic access token. Provided token in header '${TRAFFIC_TOKEN_HEADER}' is invalid`
        : `Sandbox is secured with traffic access token. Token header '${TRAFFIC_TOKEN_HEADER}' is missing`
      return { status: 403, body: { sandboxId, message, code: 403 } }
    }
  }
  return { sb, port }
}

function refuse(res: ServerResponse, status: number, body: Record<string, unknown>) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify(body))
}

export function createGateway(sandboxes: Sandboxes): Server {
  const server = outlastWorkerdKeepAlive(createServer((req, res) => {
    const routed = route(sandboxes, req)
    if ('status' in routed) return refuse(res, routed.status, routed.body)
    const work =
      routed.port === ENVD_PORT
        ? handleEnvd(sandboxes, routed.sb, req, res)
        : proxyRequest(routed.sb.runDir, routed.sb.id, routed.port, req, res)
    work.catch((err: unknown) => {
      if (res.headersSent) return void res.destroy()
      refuse(res, 500, { message: err instanceof Error ? err.message : String(err) })
    })
  }))
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const routed = route(sandboxes, req)
    if ('status' in routed || routed.port === ENVD_PORT) {
      const status = 'status' in routed ? routed.status : 400
      socket.end(`HTTP/1.1 ${status} Refused\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
      return
    }
    void proxyUpgrade(routed.sb.runDir, routed.port, req, socket, head)
  })
  return server
}
