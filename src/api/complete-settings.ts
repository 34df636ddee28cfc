import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../env'
import { ApiError } from '../lib/errors'
import { missingSettings } from '../config/missing-settings'
import { json } from './openapi'
import { ErrorBody } from '../contracts'

/** The answer documented on the routes this guards. */
export const misconfiguredResponse = {
  503: json(ErrorBody, '`misconfigured`: the deployment lacks settings, named in `details.missing`'),
}

/**
 * What starts a session fails at once, naming what the operator must set, when the deployment
 * lacks settings: otherwise the session would wait for a sandbox or a model that cannot come.
 */
export const requireCompleteSettings = createMiddleware<AppEnv>(async (c, next) => {
  const missing = missingSettings(c.env)
  if (missing.length > 0) {
    throw new ApiError(
      'misconfigured',
      `this deployment cannot start sessions until its operator sets: ${missing.join('; ')}`,
      { missing },
    )
  }
  await next()
})
