import { Hono } from 'hono'
import { PREVIEW_PREFIX } from '../contracts'
import { sessionStub } from '../durable-objects'
import type { AppEnv } from '../env'
import { ApiError, unwrap } from '../lib/errors'
import { apiKeys } from '../config/settings'
import { keyOfTenant } from './middleware'
import { previewRequestHeaders, previewResponseHeaders } from './preview-headers'
import { verifyToken } from './session-tokens'

/**
 * A preview: `/preview/<token>/<path>` serves `<path>` of the port the token names, from the
 * session's sandbox, over HTTP and WebSocket. The token (POST /v1/sessions/:id/previews) is the
 * only credential: no API key is read here, and no route of the API answers under this prefix.
 * The sandbox's address and its traffic token stay in the Worker.
 */
export const previews = new Hono<AppEnv>().all('/:token/*', async (c) => {
  const token = c.req.param('token')
  const claims = await verifyToken(token, (tenant) => keyOfTenant(apiKeys(c.env), tenant))
  if (!claims || claims.scope !== 'preview' || claims.port === undefined) throw new ApiError('unauthorized', 'this preview URL is not valid or has expired; ask for a new one')
  const prefix = `${PREVIEW_PREFIX}/${token}`
  const url = new URL(c.req.url)
  const path = url.pathname.slice(prefix.length)
  // The page's relative links resolve under the prefix only from a path that ends in a slash.
  if (path === '') return c.redirect(`${prefix}/${url.search}`, 308)
  const access = unwrap(await sessionStub(c.env, claims.sessionId).previewAccess(claims.tenant, claims.port))
  let answer: Response
  try {
    answer = await fetch(`${access.url}${path}${url.search}`, {
      method: c.req.method,
      headers: previewRequestHeaders(c.req.raw.headers, access.headers),
      body: c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : c.req.raw.body,
      redirect: 'manual',
    })
  } catch {
    throw new ApiError('agent_unreachable', `the sandbox's port ${claims.port} did not answer`)
  }
  // A WebSocket (a dev server's hot reload) is handed over as it is.
  if (answer.status === 101) return answer
  return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: previewResponseHeaders(answer.headers, prefix) })
})
