import { z } from '@hono/zod-openapi'
import { ERROR_STATUS } from '../lib/errors'
import { ID_PATTERN } from '../lib/ids'
import { decodeCursor } from '../tenant/cursor'
import { MAX_TOKEN_TTL_SECONDS } from './session-tokens'

/**
 * The API's one definition of every body, parameter and response: validation, the OpenAPI
 * document and the handlers' types all come from these schemas.
 */

const noLeadingDash = (s: string) => !s.startsWith('-')

export const ModelName = z
  .string()
  .regex(/^[\w.@-]+\/[\w.:@/-]+$/, 'expected "provider/model"')
  .max(200)
  .openapi({ example: 'anthropic/claude-sonnet-4-5' })

export const Repo = z
  .object({
    url: z
      .string()
      .min(1)
      .max(2000)
      .refine(noLeadingDash, 'must not start with "-"')
      .refine(
        (u) => /^(https?|git|ssh|file):\/\//.test(u) || /^[\w.-]+@[\w.-]+:/.test(u) || u.startsWith('/'),
        'expected an http(s), git, ssh or file URL, or an absolute path',
      )
      .openapi({ example: 'https://github.com/honojs/hono' }),
    ref: z
      .string()
      .min(1)
      .max(250)
      .regex(/^[\w./-]+$/, 'expected a branch, tag or commit')
      .refine(noLeadingDash, 'must not start with "-"')
      .optional(),
  })
  .strict()
  .openapi('Repo')

const Action = z.enum(['allow', 'ask', 'deny'])

export const Permissions = z
  .record(z.string().max(100), z.union([Action, z.record(z.string().max(500), Action)]))
  .openapi('Permissions', {
    example: { edit: 'ask', bash: { 'git status': 'allow', '*': 'ask' } },
  })

export const CreateSessionBody = z
  .object({
    repo: Repo.optional(),
    title: z.string().min(1).max(200).optional(),
    model: ModelName.optional(),
    agent: z.string().min(1).max(64).optional(),
    permissions: Permissions.optional(),
    setup: z.string().min(1).max(8000).optional(),
    prompt: z.string().min(1).max(100_000).optional(),
    pendingTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .optional()
      .openapi({ description: 'How long a permission request or question waits for an answer before it is rejected' }),
  })
  .strict()
  .openapi('CreateSession')

export const SendMessageBody = z
  .object({
    text: z.string().min(1).max(100_000),
    idempotencyKey: z.string().min(1).max(200).optional(),
    model: ModelName.optional(),
    agent: z.string().min(1).max(64).optional(),
  })
  .strict()
  .openapi('SendMessage')

export const SessionParams = z.object({
  id: z
    .string()
    .regex(ID_PATTERN, 'not a session id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'ses_0123456789abcdefghjk' }),
})

const RequestId = z.string().min(1).max(200).regex(/^[\w-]+$/, 'not a request id')

export const PermissionParams = SessionParams.extend({
  permissionId: RequestId.openapi({ param: { name: 'permissionId', in: 'path' } }),
})

export const QuestionParams = SessionParams.extend({
  questionId: RequestId.openapi({ param: { name: 'questionId', in: 'path' } }),
})

export const PermissionAnswer = z
  .object({
    reply: z.enum(['once', 'always', 'reject']),
    message: z.string().min(1).max(10_000).optional().openapi({ description: 'Fed back to the model with a reject' }),
  })
  .strict()
  .openapi('PermissionAnswer')

export const QuestionAnswer = z
  .union([
    z.object({ answers: z.array(z.array(z.string().max(1000)).max(50)).min(1).max(50) }).strict(),
    z.object({ reject: z.literal(true) }).strict(),
  ])
  .openapi('QuestionAnswer', { description: 'The chosen labels for each question, in order; or a rejection' })

export const AbortBody = z.object({ clearQueue: z.boolean().optional() }).strict().openapi('Abort')

export const PermissionResolved = z.object({ permissionId: z.string(), reply: z.string() }).openapi('PermissionResolved')

export const QuestionResolved = z
  .object({ questionId: z.string(), answers: z.array(z.array(z.string())).optional(), rejected: z.boolean().optional() })
  .openapi('QuestionResolved')

export const Aborted = z.object({ aborted: z.boolean(), dropped: z.number() }).openapi('Aborted')

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .max(500)
    .refine((c) => decodeCursor(c)[0] !== undefined, 'not a cursor from a previous page')
    .optional(),
})

export const SendQuery = z.object({
  wait: z.enum(['true', 'false', '1', '0']).optional(),
  timeout: z.coerce.number().int().min(1).max(3600).default(300),
})

export const EventsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  raw: z.enum(['1', 'true', '0', 'false']).optional(),
})

export const Usage = z
  .object({ inputTokens: z.number(), outputTokens: z.number(), cost: z.number() })
  .openapi('Usage')

export const SessionStatus = z.enum(['starting', 'idle', 'busy', 'ended', 'failed'])

export const Session = z
  .object({
    id: z.string(),
    status: SessionStatus,
    title: z.string().nullable(),
    repo: Repo.nullable(),
    model: z.string().nullable(),
    agent: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string(),
    lastEventId: z.number(),
    queued: z.number(),
    usage: Usage,
    pending: z.object({ permissions: z.array(z.unknown()), questions: z.array(z.unknown()) }),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .openapi('Session')

export const SessionSummary = Session.pick({ id: true, status: true, title: true, createdAt: true, updatedAt: true })

export const SessionList = z
  .object({ items: z.array(SessionSummary), nextCursor: z.string().nullable() })
  .openapi('SessionList')

export const Reply = z
  .object({ messageId: z.string().nullable(), text: z.string(), usage: Usage })
  .openapi('Reply')

export const MessageAccepted = z
  .object({ messageId: z.string(), queued: z.boolean(), duplicate: z.boolean() })
  .openapi('MessageAccepted')

export const MessageReplied = MessageAccepted.extend({ reply: Reply }).openapi('MessageReplied')

export const ConversationMessage = z
  .object({
    id: z.string(),
    role: z.enum(['user', 'assistant']),
    text: z.string(),
    parts: z.array(z.unknown()),
    createdAt: z.string(),
  })
  .openapi('Message')

export const TokenRequest = z
  .object({ ttlSeconds: z.number().int().min(10).max(MAX_TOKEN_TTL_SECONDS).optional() })
  .strict()
  .openapi('TokenRequest')

export const SessionToken = z.object({ token: z.string(), expiresAt: z.string() }).openapi('SessionToken')

export const Keepalive = z.object({ expiresAt: z.string() }).openapi('Keepalive')

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error')
