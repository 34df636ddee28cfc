import { OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv } from '../env'
import { validationError } from './errors'
import { ErrorBody } from '../contracts'

/** A JSON body or response in a route definition. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
})

/** The errors every authenticated route can answer with; `what` names the thing that may be missing. */
export const commonErrors = (what: string) => ({
  400: json(ErrorBody, 'Bad input; zod issues in `details`'),
  401: json(ErrorBody, 'Missing or unknown credentials'),
  403: json(ErrorBody, 'A session token used for anything but reading its session, its events and its messages'),
  404: json(ErrorBody, `No such ${what}, or not yours`),
})

export const security = [{ bearer: [] }]

/** A router whose validation failures answer in the contract's error format. */
export const router = () =>
  new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target)
    },
  })
