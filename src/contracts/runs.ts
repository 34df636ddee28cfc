import { z } from '@hono/zod-openapi'
import { ID_PATTERN } from '../lib/ids'
import { callbackUrlProblem } from './callback-url'
import { Usage } from './events'
import { Limits, ModelKeys, ModelName, Permissions, Repo } from './fields'

/** Background runs: the body that starts one, the run as it is shown, and what a run's Durable Object is handed and told. */

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

/** `error` when the run's session could not be created: the run has already ended `failed`. */
export const RunAccepted = Run.pick({ id: true, sessionId: true, status: true, error: true }).openapi('RunAccepted')

export type RunStatus = z.infer<typeof RunStatus>
export type RunView = z.infer<typeof Run>
/** An attempt's outcome: the status answered, or, coarsely, why there was none. */
export type CallbackAttempt = NonNullable<RunView['callback']>['attempts'][number]

type RunBody = z.infer<typeof RunBody>

/** A run's request as the run keeps it: the body less the model keys, which only its session keeps (sealed). */
export type RunRequest = Omit<RunBody, 'modelKeys'>

/** Where a GitHub-started run reports back. */
export type GitHubTarget = { owner: string; repo: string; issue: number }

export type CreateRunInput = Pick<RunBody, 'modelKeys'> & {
  id: string
  tenant: string
  request: RunRequest
  github?: GitHubTarget
  /** where the run's sandbox reaches the model gateway */
  gatewayUrl: string
}

/** What a background session tells its run. */
export type RunSignal =
  | { kind: 'turn_done'; text: string }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'session_failed'; code: string; message: string }
