import { createRoute } from '@hono/zod-openapi'
import { sessionStub } from '../durable-objects'
import { ApiError, unwrap } from '../lib/errors'
import { DEFAULT_PREVIEW_TTL_SECONDS, ErrorBody, PREVIEW_PREFIX, Preview, PreviewRequest, SessionParams } from '../contracts'
import { commonErrors, json, router, security } from './openapi'
import { signToken } from './session-tokens'

/** Chained, so that its type carries every route for the typed client (`AppType`). */
export const sessionPreviews = router().openapi(
  createRoute({
    method: 'post',
    path: '/{id}/previews',
    summary: "A URL serving a port of the session's sandbox",
    description:
      'For a port a process of the sandbox listens on (announced by `sandbox.port`): a URL under `/preview/<token>/` that serves it over HTTP and WebSocket (a dev server and its hot reload) through the Worker until `expiresAt`, to anyone who has it. The token in its path is the only credential it takes: the API key does not open a preview, and a preview’s token opens nothing of the API. Its requests resume a paused sandbox and count as activity, as a keepalive does; it stops working when the session ends, and answers 404 while nothing listens on the port. Needs the API key itself.',
    security,
    request: { params: SessionParams, body: json(PreviewRequest, 'The port, and how long the URL works') },
    responses: {
      201: json(Preview, 'The preview'),
      409: json(ErrorBody, 'The session has ended'),
      503: json(ErrorBody, 'The sandbox is not running and could not be brought back'),
      ...commonErrors('session, or nothing listens on that port'),
    },
  }),
  async (c) => {
    const { id } = c.req.valid('param')
    const { port, ttlSeconds } = c.req.valid('json')
    const apiKey = c.get('apiKey')
    if (!apiKey) throw new ApiError('unauthorized', 'a session token cannot open previews; use the API key')
    // The session is the tenant's, its sandbox runs, and one of its processes listens on the port.
    unwrap(await sessionStub(c.env, id).previewAccess(c.get('tenant'), port))
    const exp = Math.floor(Date.now() / 1000) + (ttlSeconds ?? DEFAULT_PREVIEW_TTL_SECONDS)
    const token = await signToken({ sessionId: id, tenant: c.get('tenant'), exp, scope: 'preview', port }, apiKey)
    const url = `${new URL(c.req.url).origin}${PREVIEW_PREFIX}/${token}/`
    return c.json({ port, url, expiresAt: new Date(exp * 1000).toISOString() }, 201)
  },
)
