import { z } from '@hono/zod-openapi'

/** What a tenant may know about itself: its id, and the key its run callbacks are signed with. */
export const Tenant = z
  .object({
    id: z.string().openapi({ description: 'the tenant id: the `tenant` of its runs and of their callbacks', example: 't_0123456789abcdef0123456789abcdef' }),
    callbackSigningKey: z.string().optional().openapi({
      description:
        "the HMAC-SHA256 key of this tenant's run callbacks (`X-Signature-256` over `<X-Timestamp>.<raw body>`, the key used as text); absent when the deployment signs no callbacks (no CALLBACK_SECRET). Another tenant's callbacks are signed with another key",
    }),
  })
  .openapi('Tenant')

export type TenantView = z.infer<typeof Tenant>
