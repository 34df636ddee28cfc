import { createRoute } from '@hono/zod-openapi'
import { SnapshotList, SnapshotParams, type SnapshotView } from '../contracts'
import { tenantStub } from '../durable-objects'
import { ApiError } from '../lib/errors'
import { sandboxProvider } from '../sandbox/select'
import type { SnapshotRow } from '../sandbox/snapshots'
import { readSettings } from '../config/settings'
import { commonErrors, json, router, security } from './openapi'

const { 400: badInput, 401: unauthorized, 404: notFound } = commonErrors('snapshot')

const view = (r: SnapshotRow, now: number): SnapshotView => ({
  id: r.id,
  repo: { url: r.repoUrl, ref: r.ref },
  commit: r.commit,
  setup: r.setup,
  sizeBytes: r.sizeBytes,
  createdAt: new Date(r.createdAt).toISOString(),
  ageSeconds: Math.max(0, Math.floor((now - r.createdAt) / 1000)),
})

const needsKey = (apiKey: string | undefined) => {
  if (apiKey === undefined) throw new ApiError('unauthorized', 'snapshots need the API key, not a session token')
}

/** Chained, so that its type carries the routes for the typed client (`AppType`). */
export const snapshots = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/',
      summary: "The tenant's repository snapshots, newest first",
      description: 'Prepared workspaces (cloned and set up) that new sessions on the same repository start from; see docs/sandboxes.md in the repository.',
      security,
      responses: { 200: json(SnapshotList, 'Every snapshot the tenant has'), 401: unauthorized },
    }),
    async (c) => {
      needsKey(c.get('apiKey'))
      const now = Date.now()
      const rows = await tenantStub(c.env, c.get('tenant')).snapshots()
      return c.json({ items: rows.map((r) => view(r, now)) }, 200)
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      summary: 'Delete a snapshot',
      security,
      request: { params: SnapshotParams },
      responses: { 204: { description: 'Deleted; sessions start without it' }, 400: badInput, 401: unauthorized, 404: notFound },
    }),
    async (c) => {
      needsKey(c.get('apiKey'))
      const { id } = c.req.valid('param')
      const removed = await tenantStub(c.env, c.get('tenant')).removeSnapshot(id)
      if (!removed) throw new ApiError('not_found', `no snapshot ${id}`)
      // Forgotten first: a delete that fails at the provider leaves storage behind, never a snapshot in use.
      await sandboxProvider(readSettings(c.env)).snapshots?.delete(id)
      return c.body(null, 204)
    },
  )
