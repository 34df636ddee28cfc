import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ZodError } from 'zod'
import { ApiError, type ErrorCode } from '../lib/errors'
import { log } from '../lib/log'

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
}

export function errorResponse(c: Context, err: ApiError) {
  return c.json(err.toJSON(), err.status)
}

/** zod's issues, trimmed to what a client needs to fix its request. */
export function validationError(error: ZodError, target: string): ApiError {
  const details = error.issues.map((i) => ({ path: [target, ...i.path].join('.'), message: i.message, code: i.code }))
  const first = details[0]
  return new ApiError('validation_failed', first ? `${first.path}: ${first.message}` : 'invalid request', details)
}

/** Every error leaves in the contract's format; an unexpected one is logged and told apart as 500. */
export function onError(err: Error, c: Context) {
  if (err instanceof ApiError) return errorResponse(c, err)
  if (err instanceof HTTPException) {
    const code = /malformed json/i.test(err.message) ? 'invalid_json' : (CODE_FOR_STATUS[err.status] ?? 'bad_request')
    return errorResponse(c, new ApiError(code, err.message || code.replaceAll('_', ' ')))
  }
  log('error', 'unhandled error', { path: c.req.path, err: err.message })
  return errorResponse(c, new ApiError('internal_error', 'something went wrong on our side'))
}

export function notFound(c: Context) {
  return errorResponse(c, new ApiError('not_found', `no route for ${c.req.method} ${c.req.path}`))
}
