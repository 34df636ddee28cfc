import { cors } from 'hono/cors'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../env'

/** The origins of CORS_ORIGINS, as a browser sends them in `Origin` (no trailing slash). */
export function corsOrigins(setting: string | undefined): string[] {
  return (setting ?? '')
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean)
}

/**
 * Web pages of the CORS_ORIGINS origins may call the API: preflights grant the headers a client
 * sends (its key, JSON, and Last-Event-ID to resume a stream), and answers, the event stream and
 * errors included, are readable by them. Any other origin gets no grant, and without the setting
 * the API answers exactly as it did before (no preflight handling at all).
 */
export const allowOrigins = createMiddleware<AppEnv>(async (c, next) => {
  const allowed = corsOrigins(c.env.CORS_ORIGINS)
  if (allowed.length === 0) return next()
  return cors({
    origin: (origin) => (allowed.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
    exposeHeaders: ['X-Request-Id'],
    maxAge: 600,
  })(c, next)
})
