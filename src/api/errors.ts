import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ZodError } from 'zod'
import type { AppEnv } from '../env'
import { ApiError, type ErrorCode } from '../lib/errors'
import { logEvent } from '../lib/log'
import { PREVIEW_PREFIX } from '../contracts'

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
}

/** A preview's path holds its token, which is its credential. */
const PREVIEW_TOKEN = new RegExp(`^${PREVIEW_PREFIX}/[^/]+`)

/** A request's path as a log line may hold it: a preview's token left out. */
export const loggedPath = (path: string) => path.replace(PREVIEW_TOKEN, `${PREVIEW_PREFIX}/<token>`).slice(0, 200)

/** The session or run a path is about, for the log line. */
const SUBJECT_PATH = /^\/v1\/(sessions|runs)\/([\w-]{1,64})(\/|$)/

/**
 * Every error answer leaves one `request.error` line: the request id (also sent back as
 * X-Request-Id), the tenant's prefix once known, and the session or run. The query is left
 * out, as it may hold a session token, and so is a preview's token in its path.
 */
export function errorResponse(c: Context<AppEnv>, err: ApiError, cause?: string) {
  const requestId = c.get('requestId')
  const subject = SUBJECT_PATH.exec(c.req.path)
  logEvent(
    'request.error',
    {
      requestId,
      tenant: c.get('tenant'),
      ...(subject && { [subject[1] === 'runs' ? 'runId' : 'sessionId']: subject[2] }),
      method: c.req.method,
      path: loggedPath(c.req.path),
      status: err.status,
      code: err.code,
      ...(cause !== undefined && { err: cause }),
    },
    err.status >= 500 ? 'error' : 'warn',
  )
  if (requestId) c.header('x-request-id', requestId)
  return c.json(err.toJSON(), err.status)
}

/** zod's issues, trimmed to what a client needs to fix its request. */
export function validationError(error: ZodError, target: string): ApiError {
  const details = error.issues.map((i) => ({ path: [target, ...i.path].join('.'), message: i.message, code: i.code }))
  const first = details[0]
  return new ApiError('validation_failed', first ? `${first.path}: ${first.message}` : 'invalid request', details)
}

/** Every error leaves in the contract's format; an unexpected one is logged and told apart as 500. */
export function onError(err: Error, c: Context<AppEnv>) {
  if (err instanceof ApiError) return errorResponse(c, err)
  if (err instanceof HTTPException) {
    const code = /malformed json/i.test(err.message) ? 'invalid_json' : (CODE_FOR_STATUS[err.status] ?? 'bad_request')
    return errorResponse(c, new ApiError(code, err.message || code.replaceAll('_', ' ')))
  }
  return errorResponse(c, new ApiError('internal_error', 'something went wrong on our side'), err.message)
}

export function notFound(c: Context<AppEnv>) {
  return errorResponse(c, new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`))
}
