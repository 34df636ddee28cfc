import { z } from '@hono/zod-openapi'
import { ID_PATTERN } from '../lib/ids'
import { callbackUrlProblem } from './callback-url'
import type { EventErrorCode } from './event-codes'
import { Usage } from './events'
import { Limits, ModelKeys, ModelName, Permissions, SessionRepo, type Repo } from './fields'
import { OutputSchema } from './output-schema'
import { Runtime } from './runtimes'

/** Background runs: the body that starts one, the run as it is shown, and what a run's Durable Object is handed and told. */

/** A branch name git and GitHub both take: no `..`, no leading `-` or `/`, no trailing `/` or `.lock`. */
const BranchName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._\/-]+$/, 'letters, digits, ".", "_", "-" and "/" only')
  .refine((b) => !b.includes('..') && !b.startsWith('-') && !b.startsWith('/') && !b.endsWith('/') && !b.endsWith('.lock') && !b.includes('//'), 'not a valid branch name')

export const PullRequestRequest = z
  .object({
    base: BranchName.optional().openapi({ description: "the branch to merge into; default: `repo.ref`, else the repository's default branch" }),
    branch: BranchName.optional().openapi({ description: 'the branch to create; default `opencode/run-<run id>`' }),
    title: z.string().min(1).max(200).optional(),
    draft: z.boolean().optional(),
  })
  .strict()
  .openapi('PullRequestRequest')

export const RunBody = z
  .object({
    prompt: z.string().min(1).max(100_000),
    repo: SessionRepo.optional(),
    model: ModelName.optional(),
    runtime: Runtime.optional(),
    permissions: Permissions.optional().openapi({
      description:
        'With a `callback`, an `ask` is POSTed to it as a signed `permission.asked` event (RunPermissionAsked) and waits for an answer through `POST /v1/sessions/{sessionId}/permissions/{permissionId}`, rejected after PENDING_TIMEOUT_SECONDS; without one, asks become denials: nobody is there to answer',
    }),
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
              'https, no credentials, not localhost nor a loopback, private, link-local or other special-purpose address in any spelling (http to loopback only when ALLOW_LOCAL_CALLBACKS=1)',
          }),
      })
      .strict()
      .optional(),
    idempotencyKey: z.string().min(1).max(200).optional(),
    timeoutSeconds: z.number().int().min(10).max(24 * 60 * 60).optional(),
    modelKeys: ModelKeys.optional(),
    limits: Limits.optional(),
    output: z
      .object({ pullRequest: PullRequestRequest.optional() })
      .strict()
      .optional()
      .openapi({
        description:
          'With `pullRequest`, a run that succeeds with changes ends in a branch and a pull request, written by the Worker through GitHub\'s API; `repo` must then be on GitHub (github.com, or the host of GITHUB_API_URL)',
      }),
    outputSchema: OutputSchema.optional().openapi({
      description:
        "A JSON Schema (draft 2020-12, 7 or 4) of an object, at most 64 KiB as JSON; local `$ref`s only, no `if`/`then`/`else`, `not`, `dependentSchemas` or `unevaluated*`. The agent's final answer must match it (opencode's structured output): it is `result.structured`; a run whose agent gives none, or one that does not match, fails with `structured_output_failed`",
    }),
  })
  .strict()
  .openapi('CreateRun')

export const RunParams = z.object({
  id: z
    .string()
    .regex(ID_PATTERN, 'not a run id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'run_0123456789abcdefghjk' }),
})

export const PullRequestResult = z
  .object({
    state: z.enum(['opened', 'updated', 'unchanged', 'not_pushed', 'failed']).openapi({
      description:
        "`opened`: a new branch and pull request; `updated`: a commit added to a pull request's branch; `unchanged`: no changes, nothing pushed; `not_pushed`: the pull request's branch is in a fork (the diff is in `diff` and the comment); `failed`: GitHub refused, see `error`",
    }),
    number: z.number().int().optional(),
    url: z.string().optional(),
    branch: z.string().optional(),
    commit: z.string().optional(),
    error: z.object({ status: z.number().int().optional(), message: z.string() }).optional(),
  })
  .openapi('PullRequestResult')

export const RunStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'])

export const Run = z
  .object({
    id: z.string(),
    tenant: z.string().openapi({ description: 'the tenant that started the run (`id` of GET /v1/tenant); a callback receiver checks it is its own' }),
    sessionId: z.string(),
    status: RunStatus,
    scheduleId: z.string().optional().openapi({ description: 'the schedule whose firing started it' }),
    createdAt: z.string(),
    updatedAt: z.string(),
    result: z
      .object({
        text: z.string(),
        structured: z.unknown().optional().openapi({ description: 'with `outputSchema`: the answer, matching it' }),
        diff: z.string().optional(),
        usage: Usage,
        spend: Usage.optional().describe("what the model gateway metered for the run's model calls when it ended (see a session's `spend`)"),
        pullRequest: PullRequestResult.optional(),
      })
      .optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    callback: z
      .object({
        url: z.string(),
        state: z.enum(['pending', 'delivered', 'failed', 'skipped']).openapi({
          description: '`skipped`: the run ended failed while it started (its session could not be created), as the answer to POST /v1/runs said; no callback is sent',
        }),
        attempts: z.array(z.object({ at: z.string(), status: z.number().optional(), error: z.string().optional() })),
      })
      .optional(),
  })
  .openapi('Run')

/**
 * What a run with a callback POSTs there when its agent asks leave, signed as the run's own
 * callback is; the answer goes to the session's permission route, as `answer` says.
 */
export const RunPermissionAsked = z
  .object({
    event: z.literal('permission.asked'),
    runId: z.string(),
    tenant: z.string(),
    sessionId: z.string(),
    permission: z.object({ id: z.string(), permission: z.string(), patterns: z.array(z.string()) }),
    answer: z.object({ method: z.literal('POST'), path: z.string() }).openapi({ description: 'where the tenant answers it, with its API key: `{"reply": "once" | "always" | "reject"}`' }),
  })
  .openapi('RunPermissionAsked')
export type RunPermissionAsked = z.infer<typeof RunPermissionAsked>

/** `error` when the run's session could not be created: the run has already ended `failed`. */
export const RunAccepted = Run.pick({ id: true, sessionId: true, status: true, error: true }).openapi('RunAccepted')

export type RunStatus = z.infer<typeof RunStatus>
export type RunView = z.infer<typeof Run>
/** An attempt's outcome: the status answered, or, coarsely, why there was none. */
export type CallbackAttempt = NonNullable<RunView['callback']>['attempts'][number]

type RunBody = z.infer<typeof RunBody>
/** A run's body as it came, its model keys and repository token included. */
export type CreateRunBody = RunBody

/**
 * A run's request as the run keeps it (in plain): the body less the model keys and the
 * repository's token, which only its session keeps (sealed), and the run sealed until it ends.
 */
export type RunRequest = Omit<RunBody, 'modelKeys' | 'repo'> & { repo?: Repo }

/**
 * Where a GitHub-started run reports back: an issue, or a pull request (its comments run on its
 * branch); on a pull request, in the review thread whose first comment is `reviewThread` when
 * a review comment asked; `defaultBranch` as the delivery gave it.
 */
export type GitHubTarget = {
  owner: string
  repo: string
  issue: number
  pullRequest?: boolean
  defaultBranch?: string
  title?: string
  reviewThread?: number
  /** a review of the pull request, asked when it was opened: the run changes nothing and its answer is the comment */
  review?: boolean
}

/** Where a Slack-started run reports back: the thread of the message that asked, in `team` (whose approvers may answer its asks). */
export type SlackTarget = { channel: string; threadTs: string; team?: string }

export type PullRequestRequest = z.infer<typeof PullRequestRequest>
export type PullRequestResult = z.infer<typeof PullRequestResult>

export type CreateRunInput = Pick<RunBody, 'modelKeys'> & {
  id: string
  tenant: string
  request: RunRequest
  github?: GitHubTarget
  slack?: SlackTarget
  /** the schedule that fired it, told when it ends */
  scheduleId?: string
  /** where the run's sandbox reaches the model gateway */
  gatewayUrl: string
  /** the tenant's own token for its repository: the clone's and the pull request's, instead of the deployment's */
  repoToken?: string
}

/** What a background session tells its run. */
export type RunSignal =
  | { kind: 'turn_done'; text: string; structured?: unknown }
  | { kind: 'error'; code: EventErrorCode; message: string }
  | { kind: 'session_failed'; code: EventErrorCode; message: string }
  /** the agent asks leave to do something: a run with approvals asks where it started */
  | { kind: 'permission_asked'; permissionId: string; permission: string; patterns: string[] }
