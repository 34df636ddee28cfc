import { createMiddleware } from 'hono/factory'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from '../env'
import { ApiError } from '../lib/errors'
import { isAllowedHost } from '../lib/host'
import { sha256Hex } from '../lib/ids'
import { apiKeys } from '../config/settings'
import { verifyToken } from './session-tokens'

/**
 * With ALLOWED_HOSTS set (npm run dev sets `localhost,127.0.0.1`), requests naming another host
 * are refused: a web page that rebinds its own domain to this machine must not reach the API.
 */
export const requireAllowedHost = createMiddleware<AppEnv>(async (c, next) => {
  const allowed = c.env.ALLOWED_HOSTS
  if (allowed && !isAllowedHost(c.req.header('host'), allowed)) {
    throw new ApiError('forbidden', 'this server does not answer to that host name (ALLOWED_HOSTS)')
  }
  await next()
})

/** Bodies above this are refused before they are read; a session's files and skills are the largest. */
export const MAX_BODY_BYTES = 1024 * 1024

export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError('payload_too_large', `request bodies are limited to ${MAX_BODY_BYTES} bytes`)
  },
})

/** A message may carry MAX_ATTACHMENT_BYTES of files as base64 (4/3 of that) besides its text. */
export const MAX_MESSAGE_BODY_BYTES = 15 * 1024 * 1024

/**
 * A body limit that never holds the body (Hono's bodyLimit reads one without a declared length
 * whole): a declared length is checked at once; a body without one fails with 413 as it is read,
 * once past the limit. For the bodies that are streamed on: messages' files, model requests.
 */
export const limitBodyStreaming = (maxBytes: number, message: string) =>
  createMiddleware(async (c, next) => {
    const body = c.req.raw.body
    const length = c.req.raw.headers.has('transfer-encoding') ? null : c.req.header('content-length')
    if (!body || (length !== null && length !== undefined)) {
      if (Number(length ?? 0) > maxBytes) throw new ApiError('payload_too_large', message)
      return next()
    }
    let seen = 0
    const counted = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength
        if (seen > maxBytes) controller.error(new ApiError('payload_too_large', message))
        else controller.enqueue(chunk)
      },
    })
    c.req.raw = new Request(c.req.raw, { body: body.pipeThrough(counted) })
    await next()
  })

export const limitMessageBody = limitBodyStreaming(MAX_MESSAGE_BODY_BYTES, `a message with its attachments is limited to ${MAX_MESSAGE_BODY_BYTES} bytes`)

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i

/** A body that is there must be JSON; an absent one is left to the route's schema. */
export const requireJson = createMiddleware(async (c, next) => {
  const hasBody = Number(c.req.header('content-length') ?? 0) > 0 || c.req.header('transfer-encoding') !== undefined
  if (hasBody && !JSON_TYPE.test(c.req.header('content-type') ?? '')) {
    throw new ApiError('unsupported_media_type', 'send the body as application/json')
  }
  await next()
})

function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a)
  const y = new TextEncoder().encode(b)
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y)
}

export const tenantOf = async (apiKey: string) => `t_${(await sha256Hex(apiKey)).slice(0, 32)}`

/**
 * What a session token opens: `GET` of its session, its events and its messages. The first
 * group is the session a path is about.
 */
const SESSION_PATH = /^\/v1\/sessions\/([^/]+)(\/|$)/
const TOKEN_READABLE = /^\/v1\/sessions\/[^/]+(\/events|\/messages)?\/?$/
/** What a terminal token opens, with any method: the session's terminal and opencode's own interface. */
const TERMINAL_PATHS = /^\/v1\/sessions\/[^/]+\/(terminal\/?$|opencode(\/|$))/

/** The API key whose tenant is `tenant`, among the configured ones. */
export async function keyOfTenant(keys: string[], tenant: string): Promise<string | undefined> {
  for (const key of keys) if ((await tenantOf(key)) === tenant) return key
  return undefined
}

/** The tenant of a configured key, compared in constant time against each. */
async function tenantOfKey(keys: string[], apiKey: string): Promise<string | undefined> {
  let found = false
  for (const key of keys) found = sameText(key, apiKey) || found
  return found ? tenantOf(apiKey) : undefined
}

/** The tenant a session token opens `path` to with `method`, or the error that refuses it. */
async function tenantOfToken(keys: string[], token: string, method: string, path: string): Promise<string> {
  const claims = await verifyToken(token, (tenant) => keyOfTenant(keys, tenant))
  if (!claims) throw new ApiError('unauthorized', 'the session token is not valid or has expired')
  if (SESSION_PATH.exec(path)?.[1] !== claims.sessionId) {
    throw new ApiError('unauthorized', 'this session token is for another session')
  }
  if (claims.scope === 'preview') throw new ApiError('forbidden', 'a preview token opens its preview only, never the API')
  if (claims.scope === 'terminal') {
    if (!TERMINAL_PATHS.test(path)) throw new ApiError('forbidden', "a terminal token only opens its session's terminal and opencode's interface; use the API key")
  } else if (method !== 'GET' || !TOKEN_READABLE.test(path)) {
    throw new ApiError('forbidden', 'a session token only reads its session, its events and its messages; use the API key')
  }
  return claims.tenant
}

/** The password of a Basic header (what `opencode attach --password` sends), or nothing. */
function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')
  if (!match) return undefined
  try {
    const decoded = atob(match[1]!)
    return decoded.slice(decoded.indexOf(':') + 1)
  } catch {
    return undefined
  }
}

/**
 * Bearer auth from API_KEYS. A key is a tenant; the tenant id is a digest of the key, so keys
 * are never stored and rotating one starts a new tenant. Without a header, `?token=` (from
 * POST /v1/sessions/:id/tokens) opens the one session it was issued for, for what its scope
 * allows. On the terminal and opencode routes, a Basic header's password may be either, as
 * `opencode attach --password` sends it.
 */
export const requireApiKey = createMiddleware<AppEnv>(async (c, next) => {
  const keys = apiKeys(c.env)
  const header = c.req.header('authorization')
  const token = c.req.query('token')
  const password = TERMINAL_PATHS.test(c.req.path) ? basicPassword(header) : undefined
  if (password !== undefined) {
    const tenant = (await tenantOfKey(keys, password)) ?? (await tenantOfToken(keys, password, c.req.method, c.req.path))
    c.set('tenant', tenant)
    return next()
  }
  if (header === undefined && token !== undefined) {
    c.set('tenant', await tenantOfToken(keys, token, c.req.method, c.req.path))
    return next()
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  if (!match) throw new ApiError('unauthorized', 'send an API key as "Authorization: Bearer <key>"')
  const apiKey = match[1]!
  const tenant = await tenantOfKey(keys, apiKey)
  if (!tenant) throw new ApiError('unauthorized', 'the API key is not valid')
  c.set('tenant', tenant)
  c.set('apiKey', apiKey)
  await next()
})
