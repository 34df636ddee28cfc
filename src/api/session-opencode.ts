import { sessionStub } from '../durable-objects'
import { ApiError, unwrap } from '../lib/errors'
import { passthroughDecision, redactCredentials } from '../opencode/passthrough'
import { SessionParams } from '../contracts'
import { validationError } from './errors'
import { router } from './openapi'

/** Request headers that are the client's own, not opencode's to see: its credentials, and hop-by-hop or platform headers. */
const DROPPED_REQUEST_HEADERS = /^(authorization|cookie|host|x-opencode-directory|cf-.*|x-forwarded-.*|x-real-ip|content-length)$/i

/**
 * opencode's own server API on a session, passed through: `opencode attach <API>/v1/sessions/:id/opencode`
 * (or opencode's SDK with that base URL) works against the session's agent, in its workspace. The
 * sandbox's address and password stay in the Worker; what would change or show the model
 * gateway's credentials is refused (src/opencode/passthrough.ts). Auth is the terminal's: the API
 * key or a terminal token, as a bearer, `?token=`, or a Basic password (`opencode attach -p`).
 */
export const sessionOpencode = router().all('/:id/opencode/*', async (c) => {
  const params = SessionParams.safeParse({ id: c.req.param('id') })
  if (!params.success) throw validationError(params.error, 'param')
  const { id } = params.data
  const path = c.req.path.slice(`/v1/sessions/${id}/opencode`.length) || '/'
  const decision = passthroughDecision(c.req.method, path)
  if (decision.action === 'refuse') throw new ApiError('forbidden', decision.reason)
  const access = unwrap(await sessionStub(c.env, id).agentAccess(c.get('tenant')))

  const query = new URL(c.req.url).searchParams
  query.delete('token')
  query.delete('directory')
  const headers = new Headers()
  for (const [name, value] of c.req.raw.headers) if (!DROPPED_REQUEST_HEADERS.test(name)) headers.set(name, value)
  for (const [name, value] of Object.entries(access.headers)) headers.set(name, value)
  // Always the session's workspace, whatever folder the client runs in.
  headers.set('x-opencode-directory', access.directory)
  const hasBody = c.req.method !== 'GET' && c.req.method !== 'HEAD'
  const answer = await fetch(`${access.url}${path}${query.size ? `?${query}` : ''}`, {
    method: c.req.method,
    headers,
    body: hasBody ? c.req.raw.body : undefined,
    redirect: 'manual',
  })
  // A WebSocket (opencode's own terminals) is handed over as it is.
  if (answer.status === 101) return answer
  const out = new Headers(answer.headers)
  out.delete('www-authenticate')
  out.delete('set-cookie')
  if (decision.redact && /json/i.test(answer.headers.get('content-type') ?? '')) {
    out.delete('content-length')
    return new Response(JSON.stringify(redactCredentials(await answer.json())), { status: answer.status, headers: out })
  }
  return new Response(answer.body, { status: answer.status, headers: out })
})
