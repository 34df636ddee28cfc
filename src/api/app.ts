import { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from '../env'
import { POOL_NAME } from '../sandbox/pool'
import { readSettings } from '../settings'
import { notFound, onError } from './errors'
import { limitBody, requireApiKey, requireJson } from './middleware'
import { runs, webhooks } from './runs'
import { sessions } from './sessions'

export const app = new OpenAPIHono<AppEnv>()

app.onError(onError)
app.notFound(notFound)

/** Set once this isolate has asked the warm pool to fill, so it asks once, not on every request. */
let poolPrimed = false
app.use('*', async (c, next) => {
  if (!poolPrimed && readSettings(c.env).warmPoolSize > 0) {
    poolPrimed = true
    c.executionCtx.waitUntil(c.env.POOL.get(c.env.POOL.idFromName(POOL_NAME)).ensure())
  }
  await next()
})

app.get('/health', async (c) => {
  const target = readSettings(c.env).warmPoolSize
  if (target === 0) return c.json({ ok: true })
  const ready = await c.env.POOL.get(c.env.POOL.idFromName(POOL_NAME)).size()
  return c.json({ ok: true, warmPool: { target, ready } })
})

app.use('/v1/*', limitBody, requireJson)
app.use('/v1/sessions/*', requireApiKey)
app.use('/v1/runs/*', requireApiKey)
app.route('/v1/sessions', sessions)
app.route('/v1/runs', runs)
app.route('/v1/webhooks', webhooks)

app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' })
app.doc31('/openapi.json', {
  openapi: '3.1.0',
  info: {
    title: 'opencode-sandbox-worker',
    version: '1',
    description: 'Sessions with a coding agent in a sandbox, streamed as Server-Sent Events.',
  },
})
