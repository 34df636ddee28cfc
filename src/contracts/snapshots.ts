import { z } from '@hono/zod-openapi'

/** A tenant's repository snapshots as the API lists them. */

export const SnapshotView = z
  .object({
    id: z.string(),
    repo: z.object({ url: z.string(), ref: z.string().nullable() }),
    commit: z.string(),
    setup: z.string().nullable(),
    sizeBytes: z.number().int().describe('what the snapshot takes on disk at the provider'),
    createdAt: z.string().datetime(),
    ageSeconds: z.number().int(),
  })
  .openapi('Snapshot')
export type SnapshotView = z.infer<typeof SnapshotView>

export const SnapshotList = z.object({ items: z.array(SnapshotView) }).openapi('SnapshotList')

export const SnapshotParams = z.object({
  id: z
    .string()
    .regex(/^[\w.:/-]{1,200}$/, 'a snapshot id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'snap_0123456789abcdef' }),
})
