import { createRoute, z } from '@hono/zod-openapi'
import { sessionStub, tenantStub } from '../durable-objects'
import type { AppEnv } from '../env'
import { SSE_HEADERS, resumeCursor } from '../events/sse'
import { ApiError, unwrap } from '../lib/errors'
import { newId } from '../lib/ids'
import { streamMessageFiles } from './message-files'
import { admitsModel, requireCatalogueAgent, requireRuntime, requireCatalogueModel } from './catalogue'
import { checkModelKeys, gatewayBase, requirePricedModel } from './gateway'
import { errorMessage } from '../lib/log'
import { secretsKey } from '../lib/sealed'
import { hasSecrets, type SessionSecrets } from '../session/store/secrets'
import { commonErrors, json, router, security } from './openapi'
import {
  AbortBody,
  Aborted,
  ConversationMessage,
  CreateSessionBody,
  ErrorBody,
  EventsQuery,
  Keepalive,
  ListQuery,
  MessageAccepted,
  MessageReplied,
  PermissionAnswer,
  PermissionParams,
  PermissionResolved,
  QuestionAnswer,
  QuestionParams,
  QuestionResolved,
  SendMessageBody,
  SendQuery,
  Session,
  SessionEvent,
  SessionList,
  RenameBody,
  SessionParams,
  SessionToken,
  TokenRequest,
  MAX_TERMINAL_TOKEN_TTL_SECONDS,
} from '../contracts'
import { DEFAULT_TOKEN_TTL_SECONDS, signToken } from './session-tokens'

const errors = commonErrors('session')

/** A session or run that brings secrets, a repository token or model keys needs SECRETS_KEY to keep them. */
export async function requireSecretsKey(env: AppEnv['Bindings'], secrets: SessionSecrets) {
  if (!hasSecrets(secrets)) return
  await secretsKey(env.SECRETS_KEY).catch((err: unknown) => {
    throw new ApiError('misconfigured', `this deployment cannot keep secrets, repository tokens or model keys: ${errorMessage(err)}`)
  })
}

/** Chained, so that its type carries every route for the typed client (`AppType`). */
export const sessions = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/',
      summary: 'Create a session',
      description:
        'Answers at once; the sandbox starts in the background and `prompt` is sent once it is ready. A session that took a ready sandbox of the warm pool is `idle` in the answer already: a message sent at once waits for its agent to be attached, never lost.',
      security,
      request: { body: { ...json(CreateSessionBody, 'What the session starts with'), required: false } },
      responses: {
        201: json(Session, 'The new session, status `starting`, or `idle` when it took a ready sandbox of the warm pool'),
        429: json(ErrorBody, 'Too many active sessions, or created too fast, for this tenant'),
        503: json(
          ErrorBody,
          '`misconfigured`: the deployment lacks settings (named in `details.missing`), or the session brings secrets, a repository token or model keys and SECRETS_KEY is not set. `sandbox_unavailable`: as many sandboxes run as the deployment\'s budget allows (E2B_MAX_SANDBOXES); try again later',
        ),
        ...errors,
      },
    }),
    async (c) => {
      const body = c.req.valid('json') ?? {}
      const id = newId('ses')
      const { prompt, title, secrets, modelKeys, repo, ...rest } = body
      checkModelKeys(c.env, modelKeys)
      const keyProviders = Object.keys(modelKeys ?? {})
      requireCatalogueModel(c.env, c.req.url, body.model, keyProviders)
      requirePricedModel(c.env, body.model, body.limits)
      requireCatalogueAgent(c.env, c.req.url, body.agent)
      requireRuntime(c.env, body.runtime, body)
      // The token is kept with the secrets, sealed; the spec (stored in plain, shown in views) never has it.
      const repoToken = repo?.token
      const spec = {
        ...rest,
        ...(repo && { repo: { url: repo.url, ref: repo.ref } }),
        ...(keyProviders.length > 0 && { keyProviders }),
        gatewayUrl: gatewayBase(c.env, c.req.url),
      }
      await requireSecretsKey(c.env, { env: secrets, repoToken, modelKeys })
      const view = unwrap(
        await sessionStub(c.env, id).create({ id, tenant: c.get('tenant'), title, prompt, spec, secrets, repoToken, modelKeys }),
      )
      return c.json(view, 201)
    },
  )

  .openapi(
    createRoute({
      method: 'get',
      path: '/',
      summary: "List the tenant's sessions, newest first",
      security,
      request: { query: ListQuery },
      responses: { 200: json(SessionList, 'A page of sessions'), ...errors },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid('query')
      return c.json(await tenantStub(c.env, c.get('tenant')).list(limit, cursor), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}',
      summary: 'Get a session',
      security,
      request: { params: SessionParams },
      responses: { 200: json(Session, 'The session'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).get(c.get('tenant'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/messages',
      summary: 'Send a message',
      description:
        'Queued behind the running turn, if any, and sent in order; `mode: "steer"` stops the running turn and runs this message next. With `?wait=true` the answer waits for the reply (or 504 after `?timeout=` seconds, the turn still running). The body may be 15 MiB, for attachments.',
      security,
      middleware: [streamMessageFiles] as const,
      request: {
        params: SessionParams,
        query: SendQuery,
        body: { ...json(SendMessageBody, 'The message'), required: true },
      },
      responses: {
        200: json(MessageReplied, 'With ?wait=true: the reply'),
        202: json(MessageAccepted, 'Accepted'),
        409: json(ErrorBody, 'The session has ended'),
        422: json(ErrorBody, 'With ?wait=true and `outputSchema`: `structured_output_failed`, the answer did not match'),
        413: json(ErrorBody, 'Attachments over 10 MiB decoded, or a body over 15 MiB'),
        429: json(ErrorBody, 'Too many messages waiting'),
        504: json(ErrorBody, 'With ?wait=true: no reply in time'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const { wait, timeout } = c.req.valid('query')
      const waiting = wait === 'true' || wait === '1'
      const { attachments, ...message } = c.req.valid('json')
      const stub = sessionStub(c.env, id)
      // The session's own model keys are asked for only when the catalogue alone does not admit the model.
      if (message.model && !admitsModel(c.env, message.model)) {
        requireCatalogueModel(c.env, c.req.url, message.model, unwrap(await stub.keyProviders(c.get('tenant'))))
      }
      requireCatalogueAgent(c.env, c.req.url, message.agent)
      // The files' bytes are in the session already (streamMessageFiles); the body held stand-ins for them.
      const upload = c.get('upload')
      const files = (attachments ?? []).map(({ filename, mime }, i) => ({ filename, mime, size: upload?.sizes[i] ?? 0 }))
      const input = { ...message, ...(upload && files.length && { attachments: { upload: upload.id, files } }) }
      const result = unwrap(await stub.send(c.get('tenant'), input, waiting ? timeout * 1000 : undefined))
      if (waiting) return c.json(result as z.infer<typeof MessageReplied>, 200)
      const { messageId, queued, duplicate } = result
      return c.json({ messageId, queued, duplicate }, 202)
    },
  )

  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/messages',
      summary: 'The conversation so far',
      security,
      request: { params: SessionParams },
      responses: { 200: json(z.array(ConversationMessage), 'Messages, oldest first'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).messages(c.get('tenant'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'get',
      path: '/{id}/events',
      summary: 'Stream the session as Server-Sent Events',
      description:
        'Every event after `Last-Event-ID` (or `?after=`) exactly once, then live ones; `: ping` at least every 15 s. `?raw=1` adds opencode’s own events, live only, as `agent.event`.',
      security,
      request: { params: SessionParams, query: EventsQuery },
      responses: {
        200: { content: { 'text/event-stream': { schema: SessionEvent } }, description: 'The event stream: one frame per event' },
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const { after, raw } = c.req.valid('query')
      const cursor = resumeCursor(c.req.header('last-event-id'), after)
      const session = sessionStub(c.env, id)
      const opened = unwrap(await session.events(c.get('tenant'), cursor, raw === '1' || raw === 'true'))
      // The session cannot see a hang-up through the stream it handed over (the stream stalls);
      // the Worker can, and tells it, so the place is free for the client's next stream at once.
      const { readable, writable } = new IdentityTransformStream()
      c.executionCtx.waitUntil(opened.stream.pipeTo(writable).catch(() => session.streamHungUp(opened.id)))
      // Frames are made once in the session for all its clients; this route only passes bytes on.
      return new Response(readable, { headers: SSE_HEADERS }) as never
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/keepalive',
      summary: 'Push the idle deadline out',
      security,
      request: { params: SessionParams },
      responses: { 200: json(Keepalive, 'The new deadline'), 409: json(ErrorBody, 'The session has ended'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).keepalive(c.get('tenant'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'delete',
      path: '/{id}',
      summary: 'End the session and destroy its sandbox',
      security,
      request: { params: SessionParams },
      responses: { 200: json(Session, 'The ended session'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).end(c.get('tenant'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/permissions/{permissionId}',
      summary: 'Answer a permission request',
      description: '`once` or `always` lets the agent go on; `reject` stops it, or with `message` tells the model why.',
      security,
      request: { params: PermissionParams, body: { ...json(PermissionAnswer, 'The answer'), required: true } },
      responses: {
        200: json(PermissionResolved, 'Answered'),
        ...errors,
        404: json(ErrorBody, 'Unknown or already answered'),
      },
    }),
    async (c) => {
      const { id, permissionId } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).answerPermission(c.get('tenant'), permissionId, c.req.valid('json'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/questions/{questionId}',
      summary: 'Answer a question from the agent',
      security,
      request: {
        params: QuestionParams,
        body: { ...json(QuestionAnswer, 'The answers, or a rejection'), required: true },
      },
      responses: {
        200: json(QuestionResolved, 'Answered'),
        ...errors,
        404: json(ErrorBody, 'Unknown or already answered'),
      },
    }),
    async (c) => {
      const { id, questionId } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).answerQuestion(c.get('tenant'), questionId, c.req.valid('json'))), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/abort',
      summary: 'Stop the running turn',
      description: 'What is queued behind it stays queued unless `clearQueue` is true.',
      security,
      request: { params: SessionParams, body: { ...json(AbortBody, 'Options'), required: false } },
      responses: {
        200: json(Aborted, 'Whether a turn was stopped, and how many queued messages were dropped'),
        ...errors,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const body = c.req.valid('json') ?? {}
      return c.json(unwrap(await sessionStub(c.env, id).abort(c.get('tenant'), body.clearQueue ?? false)), 200)
    },
  )

  .openapi(
    createRoute({
      method: 'post',
      path: '/{id}/tokens',
      summary: 'Issue a short-lived token for this session',
      description:
        'For browsers that cannot send headers (EventSource, WebSocket): `?token=` then opens this session, and only this one, until it expires: for reading (the default scope), or (`scope: "terminal"`, at most an hour) its terminal and opencode’s interface and nothing else. Needs the API key itself.',
      security,
      request: { params: SessionParams, body: { ...json(TokenRequest, 'Options'), required: false } },
      responses: { 201: json(SessionToken, 'The token'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      const apiKey = c.get('apiKey')
      if (!apiKey) throw new ApiError('unauthorized', 'a session token cannot issue tokens; use the API key')
      unwrap(await sessionStub(c.env, id).get(c.get('tenant')))
      const { ttlSeconds, scope } = c.req.valid('json') ?? {}
      const terminal = scope === 'terminal'
      if (terminal && ttlSeconds !== undefined && ttlSeconds > MAX_TERMINAL_TOKEN_TTL_SECONDS) {
        throw new ApiError('validation_failed', `a terminal token lives at most ${MAX_TERMINAL_TOKEN_TTL_SECONDS} s`)
      }
      const exp = Math.floor(Date.now() / 1000) + (ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS)
      const token = await signToken({ sessionId: id, tenant: c.get('tenant'), exp, ...(terminal && { scope: 'terminal' as const }) }, apiKey)
      return c.json({ token, expiresAt: new Date(exp * 1000).toISOString() }, 201)
    },
  )

  .openapi(
    createRoute({
      method: 'patch',
      path: '/{id}',
      summary: 'Rename a session',
      security,
      request: { params: SessionParams, body: { ...json(RenameBody, 'The new title'), required: true } },
      responses: { 200: json(Session, 'The session'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param')
      return c.json(unwrap(await sessionStub(c.env, id).rename(c.get('tenant'), c.req.valid('json').title)), 200)
    },
  )
