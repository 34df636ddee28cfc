import { createRoute } from '@hono/zod-openapi'
import { Tenant } from '../contracts'
import { ApiError } from '../lib/errors'
import { callbackKey } from '../runs/signing'
import { commonErrors, json, router, security } from './openapi'

const { 401: unauthorized, 403: forbidden } = commonErrors('tenant')

/** Chained, so that its type carries the route for the typed client (`AppType`). */
export const tenant = router().openapi(
  createRoute({
    method: 'get',
    path: '/',
    summary: 'The tenant of the API key, and its callback signing key',
    description:
      "The tenant id (which every run's callback names in `tenant`) and the key this tenant's callbacks are signed with, derived from CALLBACK_SECRET for this tenant alone. A receiver checks the signature with this key and that `tenant` is this id. Needs the API key: a session token cannot read it.",
    security,
    responses: { 200: json(Tenant, 'The tenant'), 401: unauthorized, 403: forbidden },
  }),
  async (c) => {
    if (c.get('apiKey') === undefined) throw new ApiError('unauthorized', 'this route needs the API key, not a session token')
    const id = c.get('tenant')
    const secret = c.env.CALLBACK_SECRET
    return c.json({ id, ...(secret && { callbackSigningKey: await callbackKey(secret, id) }) }, 200)
  },
)
