import { hc } from 'hono/client'
import type { AppType } from '../api/app'

/**
 * A typed client for the API: `hc` from hono/client over the Worker's own route types, so
 * paths, parameters, bodies and responses are checked against the same zod schemas the Worker
 * validates with. Plus `streamEvents`, for the session's Server-Sent Events.
 *
 * ```ts
 * const api = createClient('http://127.0.0.1:8787', { apiKey: 'dev-key' })
 * const res = await api.v1.sessions.$post({ json: { title: 'hello' } })
 * const session = await res.json()
 * const { models } = await (await api.v1.models.$get()).json()
 * await api.v1.sessions[':id'].messages.$post({
 *   param: { id: session.id },
 *   query: {},
 *   json: { text: 'What is wrong here?', attachments: [{ filename: 'shot.png', mime: 'image/png', data: base64 }], mode: 'steer' },
 * })
 * ```
 */

export type { AppType }
export type { AgentCatalogue, Attachment, AttachmentInfo, ModelCatalogue, PublicEventMap, PublicEventType } from '../contracts'
export { SseParser, StreamError, streamEvents } from './sse'
export type { SessionEvent, SseFrame, StreamEnd, StreamEventsOptions } from './sse'

export type ClientOptions = {
  /** sent as `Authorization: Bearer <key>` on every request */
  apiKey?: string
  /** a session token (POST /v1/sessions/:id/tokens), sent as `?token=`: opens that one session's routes */
  token?: string
  headers?: Record<string, string>
  fetch?: typeof fetch
}

export function createClient(baseUrl: string, opts: ClientOptions = {}) {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.apiKey !== undefined) headers.authorization = `Bearer ${opts.apiKey}`
  const base = opts.fetch ?? fetch
  const withToken: typeof fetch | undefined =
    opts.token === undefined
      ? opts.fetch
      : (input, init) => {
          const url = new URL(input instanceof Request ? input.url : String(input))
          url.searchParams.set('token', opts.token!)
          return input instanceof Request ? base(new Request(url, input), init) : base(url, init)
        }
  return hc<AppType>(baseUrl.replace(/\/+$/, ''), { headers, fetch: withToken })
}

export type Client = ReturnType<typeof createClient>
