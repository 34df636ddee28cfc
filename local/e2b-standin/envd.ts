import type { IncomingMessage, ServerResponse } from 'node:http'
import { ConnectError, isStreamingRequest, openStream, readMessage, sendUnary, sendUnaryError } from './connect'
import { filesystemRpc, getFile, jsonError, postFiles } from './envd-files'
import { processService } from './envd-process'
import type { Sandbox, Sandboxes } from './sandboxes'

/** envd, the daemon on port 49983 of every sandbox: health, files, and its Connect services. */

/** Routes envd lets through without the access token; the file routes check signatures instead. */
const OPEN_ROUTES = new Set(['GET /health', 'GET /files', 'POST /files'])

async function rpc(req: IncomingMessage, res: ServerResponse, work: () => Promise<void>) {
  try {
    await work()
  } catch (err) {
    const error = err instanceof ConnectError ? err : new ConnectError('internal', err instanceof Error ? err.message : String(err))
    if (res.headersSent) return void res.end()
    // Streaming calls carry errors in their end-stream frame; unary ones in the HTTP status.
    if (isStreamingRequest(req)) openStream(res).end(error)
    else sendUnaryError(res, error)
  }
}

export async function handleEnvd(sandboxes: Sandboxes, sb: Sandbox, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://envd')
  const route = `${req.method} ${url.pathname}`
  if (!OPEN_ROUTES.has(route) && req.headers['x-access-token'] !== sb.envdAccessToken) {
    return jsonError(res, 401, 'unauthorized access, please provide a valid access token or method signing if supported')
  }
  if (route === 'GET /health') {
    res.writeHead(204).end()
    return
  }
  if (route === 'GET /files') return getFile(sandboxes, sb, req, res, url.searchParams)
  if (route === 'POST /files') return postFiles(sandboxes, sb, req, res, url.searchParams)

  const [, service, method] = url.pathname.match(/^\/([\w.]+)\/(\w+)$/) ?? []
  if (req.method === 'POST' && service === 'process.Process') {
    return rpc(req, res, async () => {
      if (method === 'Start') return processService.start(sandboxes, sb, req, res)
      if (method === 'Connect') return processService.connect(sb, req, res)
      sendUnary(res, await processService.unary(sb, method!, req))
    })
  }
  if (req.method === 'POST' && service === 'filesystem.Filesystem') {
    return rpc(req, res, async () => sendUnary(res, await filesystemRpc(sandboxes, sb, method!, await readMessage(req))))
  }
  jsonError(res, 404, `no route ${route}`)
}
