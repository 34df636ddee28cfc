import { z } from '@hono/zod-openapi'
import { PublicEventSchemas, SessionStatus, Usage, type PublicEventType } from '../events/types'
import { ERROR_STATUS } from '../lib/errors'
import { ID_PATTERN } from '../lib/ids'
import { decodeCursor } from '../tenant/cursor'
import { callbackUrlProblem } from '../runs/callback-url'
import { DEFAULT_RANGE_DAYS, isDay, MAX_RANGE_DAYS, usageRange } from '../tenant/usage'
import { MAX_TOKEN_TTL_SECONDS } from './session-tokens'

/**
 * The API's one definition of every body, parameter and response: validation, the OpenAPI
 * document and the handlers' types all come from these schemas.
 */

const noLeadingDash = (s: string) => !s.startsWith('-')

/**
 * Whether a repository URL carries credentials, which would end up in the session's record and
 * the clone's `.git/config`: any user info for http(s), git and file URLs (`https://token@host`
 * is a token too), a password for ssh (whose `git@` is only a user name). Read from the raw text,
 * as git and URL parsers disagree on odd input.
 */
export function urlHasCredentials(url: string): boolean {
  const [, scheme, authority] = /^([a-z]+):\/\/([^/?#]*)/.exec(url) ?? []
  if (authority === undefined) return false
  if (scheme !== 'ssh') return authority.includes('@')
  const at = authority.lastIndexOf('@')
  return at >= 0 && authority.slice(0, at).includes(':')
}

export const ModelName = z
  .string()
  .regex(/^[\w.@-]+\/[\w.:@/-]+$/, 'expected "provider/model"')
  .max(200)
  .openapi({ example: 'anthropic/claude-sonnet-4-5' })

const repoFields = {
  url: z
    .string()
    .min(1)
    .max(2000)
    .refine(noLeadingDash, 'must not start with "-"')
    .refine(
      (u) => /^(https?|git|ssh|file):\/\//.test(u) || /^[\w.-]+@[\w.-]+:/.test(u) || u.startsWith('/'),
      'expected an http(s), git, ssh or file URL, or an absolute path',
    )
    .refine((u) => !urlHasCredentials(u), "must not hold credentials (a session takes a private repository's token as `repo.token`)")
    .openapi({ example: 'https://github.com/honojs/hono' }),
  ref: z
    .string()
    .min(1)
    .max(250)
    .regex(/^[\w./-]+$/, 'expected a branch, tag or commit')
    .refine(noLeadingDash, 'must not start with "-"')
    .optional(),
}

export const Repo = z.object(repoFields).strict().openapi('Repo')

/** The repository a session is created on: a Repo, and for a private one over http(s), a token. */
export const SessionRepo = z
  .object({
    ...repoFields,
    token: z
      .string()
      .min(1)
      .max(1_000)
      .regex(/^[\x21-\x7e]+$/, 'printable characters without spaces')
      .optional()
      .openapi({
        writeOnly: true,
        description:
          'For a private repository: the password of user `x-access-token`, used only to clone it (again if its sandbox is replaced) through a git credential helper. Stored sealed until the session ends; never returned, and left nowhere in the sandbox',
      }),
  })
  .strict()
  .refine((r) => r.token === undefined || /^https?:\/\//.test(r.url), { message: 'a token is for http(s) URLs', path: ['token'] })
  .openapi('SessionRepo')

const Action = z.enum(['allow', 'ask', 'deny'])

export const Permissions = z
  .record(z.string().max(100), z.union([Action, z.record(z.string().max(500), Action)]))
  .openapi('Permissions', {
    example: { edit: 'ask', bash: { 'git status': 'allow', '*': 'ask' } },
  })

/** A path inside the workspace: relative, no `..`, so nothing can be written or read outside it. */
export const WorkspacePath = z
  .string()
  .min(1)
  .max(300)
  .refine((p) => !p.startsWith('/') && !p.includes('\0') && !p.split(/[\\/]/).includes('..'), 'must be a relative path inside the workspace')

/**
 * Names that would point the sandbox's tools somewhere else (proxies, model endpoints, CA
 * bundles) or run code of the caller's choosing inside them (preloads, startup files, git hooks
 * and config): a session brings data, not a different toolchain.
 */
const TOOL_HIJACKING =
  /^(.*_PROXY|.*_BASE_URL|LD_.*|DYLD_.*|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|SSL_CERT_.*|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE|BASH_ENV|ENV|GIT_.*|PYTHONSTARTUP|PYTHONPATH)$/i

const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'not an environment variable name')
  .refine((n) => !/^(OPENCODE_|E2B_)/.test(n) && !['HOME', 'PATH', 'PWD', 'SHELL', 'USER'].includes(n), 'reserved name')
  .refine((n) => !TOOL_HIJACKING.test(n), 'redirects or takes over tools in the sandbox')

const EnvMap = z.record(EnvName, z.string().max(8_192)).refine((m) => Object.keys(m).length <= 50, 'at most 50 variables')

export const Skill = z
  .object({
    name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lowercase words joined by single hyphens').max(64),
    description: z.string().min(1).max(1_024),
    instructions: z.string().min(1).max(100_000).openapi({ description: 'The body of SKILL.md' }),
    files: z
      .record(WorkspacePath, z.string().max(100_000))
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 files')
      .optional()
      .openapi({ description: 'Supporting files, by path relative to the skill folder' }),
  })
  .strict()
  .openapi('Skill')

export const McpServer = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('remote'),
        url: z.string().url().max(2_000),
        headers: z.record(z.string().max(200), z.string().max(4_000)).optional(),
      })
      .strict(),
    z
      .object({
        type: z.literal('local'),
        command: z.array(z.string().max(1_000)).min(1).max(50),
        environment: z.record(EnvName, z.string().max(8_192)).optional(),
      })
      .strict(),
  ])
  .openapi('McpServer')

export const ModelKeys = z
  .record(z.string().regex(/^[\w.-]{1,64}$/, 'a provider id'), z.string().min(1).max(4_096))
  .refine((m) => Object.keys(m).length <= 10, 'at most 10 providers')
  .openapi('ModelKeys', {
    description:
      'Your own model provider keys by opencode provider id (e.g. `anthropic`), used by the model gateway for this session only; never returned and never in the sandbox',
    example: { anthropic: 'sk-ant-...' },
  })

export const Limits = z
  .object({
    maxCostUsd: z.number().positive().max(100_000).optional(),
    maxOutputTokens: z.number().int().positive().max(1_000_000_000).optional(),
  })
  .strict()
  .openapi('Limits', { description: 'Spend caps the model gateway holds the session to; past one, calls are refused with `budget_exceeded`' })

export const WorkspaceFile = z
  .object({ path: WorkspacePath, content: z.string().max(256 * 1024) })
  .strict()
  .openapi('WorkspaceFile')

export const CreateSessionBody = z
  .object({
    repo: SessionRepo.optional(),
    title: z.string().min(1).max(200).optional(),
    model: ModelName.optional(),
    agent: z.string().min(1).max(64).optional(),
    permissions: Permissions.optional(),
    setup: z.string().min(1).max(8000).optional(),
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
    createdAt: z.string(),
    updatedAt: z.string(),
    expiresAt: z.string(),
    lastEventId: z.number(),
    queued: z.number(),
    usage: Usage,
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

export const RunBody = z
  .object({
    prompt: z.string().min(1).max(100_000),
    repo: Repo.optional(),
    model: ModelName.optional(),
    permissions: Permissions.optional().openapi({ description: 'Asks become denials: nobody is there to answer' }),
    callback: z
      .object({
        url: z
          .string()
          .max(2_000)
          .superRefine((u, ctx) => {
            // The loosest form here; the route checks again under ALLOW_LOCAL_CALLBACKS.
            const problem = callbackUrlProblem(u, true)
            if (problem) ctx.addIssue({ code: 'custom', message: problem })
          })
          .openapi({
            description:
              'https, no credentials, not a loopback, private or link-local address (http to loopback only when ALLOW_LOCAL_CALLBACKS=1)',
          }),
      })
      .strict()
      .optional(),
    idempotencyKey: z.string().min(1).max(200).optional(),
    timeoutSeconds: z.number().int().min(10).max(24 * 60 * 60).optional(),
    modelKeys: ModelKeys.optional(),
    limits: Limits.optional(),
  })
  .strict()
  .openapi('CreateRun')

export const RunParams = z.object({
  id: z
    .string()
    .regex(ID_PATTERN, 'not a run id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'run_0123456789abcdefghjk' }),
})

export const RunStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'])

export const Run = z
  .object({
    id: z.string(),
    sessionId: z.string(),
    status: RunStatus,
    createdAt: z.string(),
    updatedAt: z.string(),
    result: z.object({ text: z.string(), diff: z.string().optional(), usage: Usage }).optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    callback: z
      .object({
        url: z.string(),
        state: z.enum(['pending', 'delivered', 'failed']),
        attempts: z.array(z.object({ at: z.string(), status: z.number().optional(), error: z.string().optional() })),
      })
      .optional(),
  })
  .openapi('Run')

export const RunAccepted = Run.pick({ id: true, sessionId: true, status: true }).openapi('RunAccepted')

const UsageDate = z.string().refine(isDay, 'expected a date YYYY-MM-DD')

export const UsageQuery = z
  .object({
    from: UsageDate.optional().openapi({ example: '2026-01-01', description: `first day, UTC (default: ${DEFAULT_RANGE_DAYS - 1} days before \`to\`)` }),
    to: UsageDate.optional().openapi({ example: '2026-01-31', description: 'last day, UTC, included (default: today)' }),
  })
  .superRefine((q, ctx) => {
    if (q.from !== undefined && !isDay(q.from)) return
    if (q.to !== undefined && !isDay(q.to)) return
    const range = usageRange(q, Date.now())
    if (!range.ok) ctx.addIssue({ code: 'custom', path: [range.path], message: range.message })
  })

const UsageCounts = z.object({
  sessions: z.number().int().describe("sessions started, a run's own included"),
  runs: z.number().int().describe('background runs started'),
  turns: z.number().int().describe('turns ended (replied, failed or aborted)'),
  runningSeconds: z.number().describe('sandbox seconds running'),
  pausedSeconds: z.number().describe('sandbox seconds paused'),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cost: z.number().describe("the model provider's cost as opencode reports it"),
})

export const TenantUsage = z
  .object({
    from: z.string(),
    to: z.string(),
    days: z.array(UsageCounts.extend({ date: z.string() }).openapi('UsageDay')).describe(`every day of the range, at most ${MAX_RANGE_DAYS}`),
    totals: UsageCounts.openapi('UsageTotals'),
  })
  .openapi('TenantUsage')
