import { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from '../env'
import { notFound, onError } from './errors'
import { limitBody, requireApiKey, requireJson } from './middleware'
import { sessions } from './sessions'

export const app = new OpenAPIHono<AppEnv>()

app.onError(onError)
app.notFound(notFound)

app.get('/health', (c) => c.json({ ok: true }))

app.use('/v1/*', requireApiKey, limitBody, requireJson)
app.route('/v1/sessions', sessions)

app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' })
app.doc31('/openapi.json', {
  openapi: '3.1.0',
  info: {
    title: 'opencode-sandbox-worker',
    version: '1',
    description: 'Sessions with a coding agent in a sandbox, streamed as Server-Sent Events.',
  },
})
