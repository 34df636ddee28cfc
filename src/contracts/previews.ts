import { z } from '@hono/zod-openapi'

/**
 * Previews: a port a process of the session's sandbox listens on, served through the Worker at
 * a URL whose path carries an unguessable, expiring token (`/preview/<token>/...`).
 */

/** A preview URL lives an hour unless asked otherwise, and a day at most. */
export const DEFAULT_PREVIEW_TTL_SECONDS = 60 * 60
export const MAX_PREVIEW_TTL_SECONDS = 24 * 60 * 60

/** Where previews are served: outside /v1, so that no route of the API answers under a preview's URL. */
export const PREVIEW_PREFIX = '/preview'

export const Port = z.number().int().min(1).max(65535)

export const PreviewRequest = z
  .object({
    port: Port.openapi({ description: 'a port a process of the sandbox listens on (announced by a `sandbox.port` event)' }),
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .max(MAX_PREVIEW_TTL_SECONDS)
      .optional()
      .openapi({ description: `how long the URL works (default ${DEFAULT_PREVIEW_TTL_SECONDS} s)` }),
  })
  .strict()
  .openapi('PreviewRequest')

export const Preview = z
  .object({
    port: Port,
    url: z.string().openapi({ description: 'serves the port over HTTP and WebSocket until `expiresAt`, to whoever has it; the API key does not open it, nor does it open the API' }),
    expiresAt: z.string(),
  })
  .openapi('Preview')
