import { createRoute, z } from '@hono/zod-openapi'
import { sessionStub } from '../durable-objects'
import { unwrap } from '../lib/errors'
import { CheckpointList, CheckpointParams, ErrorBody, RestoreBody, Session, SessionParams } from '../contracts'
import { commonErrors, json, router, security } from './openapi'

const errors = commonErrors('session')
const unreadable = '`checkpoint_unreadable`: the checkpoint does not open (SECRETS_KEY rotated since it was saved, or its stored data damaged)'

/**
 * A session's checkpoints (docs/checkpoints.md): the list, and each one's changes as a unified
 * diff. Mounted beside the session routes, under the same path. Chained, so that its type carries
 * every route for the typed client (`AppType`).
 */
export const sessionCheckpoints = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/checkpoints',
      summary: "The session's checkpoints",
      description:
        'After each turn (and before a pause) the session keeps what its workspace changed since the commit it started from, and the agent’s record of the conversation, sealed; a sandbox that replaces a lost one gets the last checkpoint back. The newest 50 are kept; ending the session deletes them.',
      security,
      request: { params: SessionParams },
      responses: { 200: json(CheckpointList, 'Its checkpoints, oldest first'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).checkpointList(c.get('tenant'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/checkpoints/{n}/patch',
      summary: "A checkpoint's changes as a unified diff",
      description:
        'Every change against the commit the workspace started from (new, changed, deleted, binary files and modes, in `git diff --binary` form): `git apply` takes it onto a clone of that commit.',
      security,
      request: { params: CheckpointParams },
      responses: {
        200: { content: { 'text/x-diff': { schema: z.string() } }, description: 'The changes' },
        ...errors,
        404: json(ErrorBody, 'No such session or checkpoint, or not yours'),
        422: json(ErrorBody, unreadable),
      },
    }),
    async (c) => {
      const { id, n } = c.req.valid('param')
      const gzipped = unwrap(await sessionStub(c.env, id).checkpointPatch(c.get('tenant'), n))
      const body = new Blob([gzipped]).stream().pipeThrough(new DecompressionStream('gzip'))
      return new Response(body, { headers: { 'content-type': 'text/x-diff; charset=utf-8' } }) as never
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/restore',
      summary: 'Roll the workspace back to a checkpoint',
      description:
        'The workspace becomes what it was at `checkpoint`: the commit it started from with that checkpoint’s changes; later edits, commits and new files (but for ignored ones) go. The conversation stays as it is. What the workspace holds then is saved as the newest checkpoint. A paused session is resumed first.',
      security,
      request: { params: SessionParams, body: { ...json(RestoreBody, 'The checkpoint to go back to'), required: true } },
      responses: {
        200: json(Session, 'The session, its workspace rolled back'),
        409: json(ErrorBody, 'A turn is running or messages wait, the session has ended, or the checkpoint does not apply'),
        503: json(ErrorBody, 'No running sandbox'),
        ...errors,
        404: json(ErrorBody, 'No such session or checkpoint, or not yours'),
        422: json(ErrorBody, unreadable),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).restoreCheckpoint(c.get('tenant'), c.req.valid('json').checkpoint)), 200)
    },
  )
