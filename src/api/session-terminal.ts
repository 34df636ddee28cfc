import { createRoute } from '@hono/zod-openapi'
import { SESSION_TENANT_HEADER, SESSION_TERMINAL_PATH, sessionStub } from '../durable-objects'
import { ApiError, type ErrorInfo } from '../lib/errors'
import { ErrorBody, SessionParams, TerminalQuery } from '../contracts'
import { commonErrors, json, router, security } from './openapi'

/** Chained, so that its type carries every route for the typed client (`AppType`). */
export const sessionTerminal = router().openapi(
  createRoute({
    method: 'get',
    path: '/{id}/terminal',
    summary: "A terminal in the session's sandbox (WebSocket)",
    description:
      'Upgrades to a WebSocket carrying a login shell on a pseudo-terminal in the workspace, resuming a paused sandbox first. Binary frames are the terminal’s bytes both ways; text frames from the client are `{"type":"input","data":"..."}` or `{"type":"resize","cols":n,"rows":n}`, and the server says `{"type":"exit","exitCode":n}` before it closes. Opened with the API key or a terminal token (`POST /tokens` with `scope: "terminal"`), never a read-only session token. At most 3 per session; it closes when the sandbox pauses (4001) or is lost (4002), or the session ends (4003). Its traffic counts as activity and never appears in the event stream.',
    security,
    request: { params: SessionParams, query: TerminalQuery },
    responses: {
      101: { description: 'Switching protocols: the terminal' },
      409: json(ErrorBody, 'The session has ended'),
      426: json(ErrorBody, 'Not a WebSocket request'),
      429: json(ErrorBody, 'As many terminals are open as a session may have'),
      503: json(ErrorBody, 'The sandbox is not running and could not be brought back'),
      ...commonErrors('session'),
    },
  }),
  async (c) => {
    const { id } = c.req.valid('param')
    const { cols, rows } = c.req.valid('query')
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') throw new ApiError('upgrade_required', 'this route is a WebSocket: send Upgrade: websocket')
    const headers = new Headers({ upgrade: 'websocket', [SESSION_TENANT_HEADER]: c.get('tenant') })
    const url = `https://session${SESSION_TERMINAL_PATH}?${new URLSearchParams({ cols: String(cols), rows: String(rows) })}`
    const res = await sessionStub(c.env, id).fetch(new Request(url, { headers }))
    if (res.status === 101) return res as never
    const { error } = (await res.json()) as { error: ErrorInfo }
    throw new ApiError(error.code, error.message)
  },
)
