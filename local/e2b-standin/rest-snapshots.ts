import type { Context, Hono } from 'hono'
import type { Sandboxes } from './sandboxes'
import type { Snapshots } from './snapshots'

/**
 * E2B's snapshot calls as the SDK makes them: `createSnapshot` (POST /sandboxes/:id/snapshots,
 * the sandbox going on as it was), `listSnapshots` (GET /snapshots, by source sandbox), and
 * `deleteSnapshot` (DELETE /templates/:id: a snapshot is a template to E2B). `SnapshotInfo` is
 * `{snapshotID, names}`.
 */
export function snapshotRoutes(app: Hono, sandboxes: Sandboxes, snapshots: Snapshots) {
  const notFound = (c: Context, message: string) => c.json({ code: 404, message }, 404)
  const info = (id: string) => ({ snapshotID: id, names: [] })

  app.post('/sandboxes/:id/snapshots', async (c) => {
    const sb = sandboxes.get(c.req.param('id'))
    if (!sb || sb.ending) return notFound(c, `sandbox "${c.req.param('id')}" doesn't exist or you don't have access to it`)
    return c.json(info((await snapshots.take(sb)).id), 201)
  })

  app.get('/snapshots', (c) => {
    const source = c.req.query('sandboxID')
    return c.json(snapshots.list().filter((s) => !source || s.sourceId === source).map((s) => info(s.id)))
  })

  app.delete('/templates/:id', async (c) => {
    if (!(await snapshots.delete(c.req.param('id')))) return notFound(c, `template "${c.req.param('id')}" not found`)
    return c.body(null, 204)
  })
}
