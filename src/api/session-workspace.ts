import { createRoute } from '@hono/zod-openapi'
import { sessionStub } from '../durable-objects'
import { unwrap } from '../lib/errors'
import { newId } from '../lib/ids'
import { Diff, ErrorBody, FileBody, FileQuery, ForkBody, RevertBody, Session, SessionParams } from '../contracts'
import { commonErrors, json, router, security } from './openapi'

const errors = commonErrors('session')

/**
 * A session's workspace and history: what the agent changed, its files, undo and fork. Mounted
 * beside the session routes, under the same path. Chained, so that its type carries every route
 * for the typed client (`AppType`).
 */
export const sessionWorkspace = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/diff',
      summary: 'What the agent changed in the workspace',
      security,
      request: { params: SessionParams },
      responses: {
        200: json(Diff, 'Changed files with their patches'),
        503: json(ErrorBody, 'No running sandbox'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).diff(c.get('tenant'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/files',
      summary: 'Read a file of the workspace',
      description:
        '`path` is relative to the workspace; anything reaching outside it is refused. A paused session is resumed to read it. Files over 10 MiB are refused with 413.',
      security,
      request: { params: SessionParams, query: FileQuery },
      responses: {
        200: json(FileBody, 'The file'),
        413: json(ErrorBody, 'The file is over 10 MiB'),
        503: json(ErrorBody, 'No running sandbox'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).readFile(c.get('tenant'), c.req.valid('query').path)), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/revert',
      summary: 'Undo: go back to before a user message',
      description:
        'The conversation and the workspace go back to before `messageId`: that message and everything after it leave `GET /messages`, and the files the agent changed since are restored. `POST /unrevert` takes it back until the next message is sent.',
      security,
      request: { params: SessionParams, body: { ...json(RevertBody, 'The user message to go back to before'), required: true } },
      responses: {
        200: json(Session, 'The session, `revert` set'),
        409: json(ErrorBody, 'A turn is running or messages wait, the session has ended, or the message never reached the agent'),
        503: json(ErrorBody, 'No running agent'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).revert(c.get('tenant'), c.req.valid('json').messageId)), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/unrevert',
      summary: 'Take the last undo back',
      description: 'Brings back the messages and files the undo took away; only until a new message is sent.',
      security,
      request: { params: SessionParams },
      responses: {
        200: json(Session, 'The session, `revert` null'),
        409: json(ErrorBody, 'No undo to take back, or a turn is running'),
        503: json(ErrorBody, 'No running agent'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).unrevert(c.get('tenant'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/fork',
      summary: 'Fork: a new session from this one',
      description:
        'A new session of the same tenant whose conversation is this one’s up to and including the turn of `messageId` (all of it without), and whose sandbox is a copy of this one’s as it stands now: the workspace with its files, and the agent’s record of the conversation. The fork has its own sandbox credentials; from then on the two sessions are independent. The session must be idle. The new session counts against the tenant’s limits as any new one does. With `checkpoint` instead, the fork starts from that checkpoint of the session: its workspace is the commit the session started from with the checkpoint’s changes, and its conversation is the session’s up to the turn the checkpoint followed. A session without a sandbox (hibernated) is forked from the checkpoint alone: the fork answers `starting`, and its own new sandbox is a clone of that commit with the changes applied and the agent given the record of the conversation the checkpoint holds.',
      security,
      request: { params: SessionParams, body: { ...json(ForkBody, 'Where to fork'), required: false } },
      responses: {
        201: json(Session, 'The new session, idle (`starting` for one forked from a checkpoint alone)'),
        409: json(ErrorBody, 'A turn is running or messages wait, or the session has ended'),
        429: json(ErrorBody, 'Too many active sessions, or created too fast, for this tenant'),
        503: json(ErrorBody, 'No running sandbox to copy (forking at a message), or the copy failed'),
        ...errors,
        404: json(ErrorBody, 'No such session, or no such message or checkpoint in it'),
        422: json(ErrorBody, '`checkpoint_unreadable`: the checkpoint does not open (SECRETS_KEY rotated since, or its stored data damaged)'),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const { messageId, checkpoint } = c.req.valid('json') ?? {}
      return c.json(unwrap(await sessionStub(c.env, id).fork(c.get('tenant'), newId('ses'), { messageId, checkpoint })), 201)
    },
  )
