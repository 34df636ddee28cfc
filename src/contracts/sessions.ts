import { z } from '@hono/zod-openapi'
import { decodeCursor } from '../lib/cursor'
import { ID_PATTERN } from '../lib/ids'
import { PublicEventSchemas, SessionStatus, TodoItem, Usage, type PublicEventType } from './events'
import { Attachment, AttachmentInfo, MAX_ATTACHMENTS, type StagedFiles } from './attachments'
import { OutputSchema } from './output-schema'
import { Runtime } from './runtimes'
import { EnvMap, Limits, McpServer, ModelKeys, ModelName, Permissions, Repo, SessionRepo, Skill, WorkspaceFile, WorkspacePath } from './fields'

/** Sessions: their bodies, parameters, queries, views and event frames; and what a session's Durable Object is handed and answers. */

/** The longest a session token may live. */
export const MAX_TOKEN_TTL_SECONDS = 24 * 60 * 60

export const CreateSessionBody = z
  .object({
    repo: SessionRepo.optional(),
    title: z.string().min(1).max(200).optional(),
    model: ModelName.optional(),
    runtime: Runtime.optional(),
    agent: z.string().min(1).max(64).optional().openapi({ description: "opencode's agent profile (`GET /v1/agents`' `agents`); not the runtime" }),
    permissions: Permissions.optional(),
    setup: z.string().min(1).max(8000).optional(),
    snapshot: z.boolean().optional().openapi({
      description: 'false: neither start from a snapshot of the prepared repository nor take one (default: both, where the deployment keeps snapshots)',
    }),
    prompt: z.string().min(1).max(100_000).optional(),
    instructions: z
      .string()
      .min(1)
      .max(20_000)
      .optional()
      .openapi({ description: 'Extra system instructions for every turn' }),
    skills: z.array(Skill).max(20).optional(),
    mcp: z
      .record(z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a short name'), McpServer)
      .refine((m) => Object.keys(m).length <= 10, 'at most 10 servers')
      .optional(),
    files: z.array(WorkspaceFile).max(50).optional().openapi({ description: 'Written into the workspace before the agent starts' }),
    env: EnvMap.optional().openapi({ description: "Non-secret environment for the agent's commands" }),
    secrets: EnvMap.optional().openapi({
      description: 'Environment for the sandbox that is never stored in the event log nor returned',
    }),
    modelKeys: ModelKeys.optional(),
    limits: Limits.optional(),
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
    model: ModelName.optional().openapi({ description: 'One of `GET /v1/models`' }),
    agent: z.string().min(1).max(64).optional(),
    attachments: z
      .array(Attachment)
      .max(MAX_ATTACHMENTS)
      .optional()
      .openapi({ description: 'At most 10 files, 10 MiB decoded in all; images reach the model as images' }),
    mode: z
      .enum(['queue', 'steer'])
      .optional()
      .openapi({ description: '`queue` (default): after what is queued. `steer`: stops the running turn and runs this message next' }),
    outputSchema: OutputSchema.optional().openapi({
      description:
        "A JSON Schema of an object, as for runs: the turn's answer must match it (`structured` on `message.completed` and on `?wait=true`'s reply); one that does not, or none, fails the turn with `structured_output_failed`",
    }),
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

export const RevertBody = z
  .object({ messageId: z.string().min(1).max(200).openapi({ description: 'a user message of this session, as `messageId` of `POST /messages`' }) })
  .strict()
  .openapi('Revert')

export const ForkBody = z
  .object({
    messageId: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: 'a message of the conversation (user or assistant): the fork keeps the turns up to and including its turn; all of them when left out' }),
    checkpoint: z
      .number()
      .int()
      .positive()
      .max(2 ** 31)
      .optional()
      .openapi({
        description:
          'instead of `messageId`: a checkpoint of this session (`checkpoint` of `GET /checkpoints`); the fork’s workspace is what it held, its conversation the turns up to the one it followed',
      }),
  })
  .strict()
  .refine((b) => b.messageId === undefined || b.checkpoint === undefined, { message: 'give messageId or checkpoint, not both' })
  .openapi('Fork')

export const RenameBody = z.object({ title: z.string().min(1).max(200) }).strict().openapi('Rename')

export const FileQuery = z.object({ path: WorkspacePath })

export const FileBody = z.object({ path: z.string(), type: z.enum(['text', 'binary']), content: z.string() }).openapi('File')

export const Diff = z
  .object({
    files: z.array(
      z.object({
        path: z.string(),
        status: z.string().optional(),
        additions: z.number(),
        deletions: z.number(),
        patch: z.string().optional(),
      }),
    ),
  })
  .openapi('Diff')

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

/** One frame of a session's event stream, per event type: `id:`, `event:` and `data:` lines. */
function eventFrame<K extends PublicEventType>(type: K) {
  return z
    .object({
      id: z.number().int().openapi({ description: 'the sequence number; send it back as Last-Event-ID' }),
      event: z.literal(type),
      data: PublicEventSchemas[type].extend({ sessionId: z.string(), at: z.string() }),
    })
    .openapi(`Event.${type}`)
}

const eventTypes = Object.keys(PublicEventSchemas) as PublicEventType[]

export const SessionEvent = z
  .union(eventTypes.map(eventFrame) as unknown as [ReturnType<typeof eventFrame>, ReturnType<typeof eventFrame>])
  .openapi('SessionEvent', {
    description: 'A Server-Sent Event of a session: `id: <seq>`, `event: <type>`, `data: <json>`, separated by a blank line',
  })

export const Session = z
  .object({
    id: z.string(),
    status: SessionStatus,
    title: z.string().nullable(),
    repo: Repo.nullable(),
    model: z.string().nullable(),
    agent: z.string().nullable(),
    runtime: Runtime,
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string(),
    lastEventId: z.number(),
    queued: z.number(),
    usage: Usage,
    spend: Usage.describe("what the model gateway metered for every model call of this session (titles and sub-agents too), at the prices it charges; `usage` is opencode's own per-turn figure"),
    todos: z.array(TodoItem).openapi({ description: "the agent's todo list as it last wrote it" }),
    revert: z
      .string()
      .nullable()
      .openapi({ description: 'the user message an undo went back to before, while `POST /unrevert` can still take it back' }),
    pending: z.object({
      permissions: z.array(PublicEventSchemas['permission.requested']),
      questions: z.array(PublicEventSchemas['question.asked']),
    }),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  })
  .openapi('Session')

export const SessionSummary = Session.pick({ id: true, status: true, title: true, createdAt: true, updatedAt: true })

export const SessionList = z
  .object({ items: z.array(SessionSummary), nextCursor: z.string().nullable() })
  .openapi('SessionList')

export const Reply = z
  .object({
    messageId: z.string().nullable(),
    text: z.string(),
    usage: Usage,
    structured: z.unknown().optional().openapi({ description: "with the message's `outputSchema`: the answer, matching it" }),
  })
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
    parts: z.array(z.unknown()).openapi({ description: "a user message's files are parts `{type: 'file', filename, mime, size}`" }),
    attachments: z.array(AttachmentInfo).optional().openapi({ description: 'user messages: the files sent with it' }),
    createdAt: z.string(),
  })
  .openapi('Message')

/** `read` (the default): the session, its events and messages; `terminal`: its terminal and opencode's interface, nothing else. */
export const TokenScope = z.enum(['read', 'terminal'])
export type TokenScope = z.infer<typeof TokenScope>

/** A terminal token opens a shell: it lives an hour at most. */
export const MAX_TERMINAL_TOKEN_TTL_SECONDS = 60 * 60

export const TokenRequest = z
  .object({
    ttlSeconds: z.number().int().min(10).max(MAX_TOKEN_TTL_SECONDS).optional(),
    scope: TokenScope.optional().openapi({ description: `\`terminal\`: opens the session's terminal and opencode's interface (and nothing else), for at most ${MAX_TERMINAL_TOKEN_TTL_SECONDS} s` }),
  })
  .strict()
  .openapi('TokenRequest')

export const SessionToken = z.object({ token: z.string(), expiresAt: z.string() }).openapi('SessionToken')

export const Keepalive = z.object({ expiresAt: z.string() }).openapi('Keepalive')

export type SessionView = z.infer<typeof Session>
/** The summary a tenant's index keeps for listing. */
export type SessionSummary = z.infer<typeof SessionSummary>
export type SessionPage = z.infer<typeof SessionList>
/** A message as the session takes it: the body, its files decoded. */
export type SendMessageInput = Omit<z.infer<typeof SendMessageBody>, 'attachments'> & { attachments?: StagedFiles }
export type Reply = z.infer<typeof Reply>
export type SendMessageResult = z.infer<typeof MessageAccepted> & { reply?: Reply }
export type ConversationMessage = z.infer<typeof ConversationMessage>
export type SkillSpec = z.infer<typeof Skill>
export type McpSpec = z.infer<typeof McpServer>
export type PermissionAnswer = z.infer<typeof PermissionAnswer>
export type PermissionResolved = z.infer<typeof PermissionResolved>
export type QuestionAnswer = z.infer<typeof QuestionAnswer>
export type QuestionResolved = z.infer<typeof QuestionResolved>
export type Aborted = z.infer<typeof Aborted>
export type Diff = z.infer<typeof Diff>
export type FileBody = z.infer<typeof FileBody>
export type Keepalive = z.infer<typeof Keepalive>

type CreateSessionBody = z.infer<typeof CreateSessionBody>

/**
 * What a session keeps as its spec (stored in plain, shown in views): what it was created with,
 * less what is kept sealed apart (secrets, model keys, the repository's token) or used once
 * (title, prompt); plus what the Worker adds.
 */
export type SessionSpec = Omit<CreateSessionBody, 'repo' | 'title' | 'prompt' | 'secrets' | 'modelKeys'> & {
  repo?: Repo
  /** set for the session of a background run: nobody is there to answer, and the run is told how it went */
  runId?: string
  /** a run whose permission asks go to a person where it started (a GitHub issue or pull request), answered there */
  approvals?: boolean
  /** where the session's sandbox reaches the model gateway (`<public URL>/v1/gateway`) */
  gatewayUrl?: string
  /** a run's outputSchema: its prompt asks opencode for structured output */
  outputSchema?: OutputSchema
  /** a run's repository on GitHub: every sandbox clones it with a token of the deployment's GitHub credential minted for it */
  githubClone?: boolean
  /** the providers the session brought its own model keys for (names only): their models are the session's to name */
  keyProviders?: string[]
  /** a fork's last turn copied from the session it was forked from: opencode cannot undo those in the copy */
  forkedTurn?: number
}

/** What the API (or a run) hands a new session: the body taken apart into its spec and what is sealed. */
export type CreateSessionInput = Pick<CreateSessionBody, 'title' | 'prompt' | 'secrets' | 'modelKeys'> & {
  id: string
  tenant: string
  spec: SessionSpec
  /** the private repository's token, kept sealed with the secrets */
  repoToken?: string
}
