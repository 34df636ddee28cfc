import { z } from '@hono/zod-openapi'
import { Usage } from '../../events/types'
import { ID_PATTERN } from '../../lib/ids'
import { callbackUrlProblem } from '../../runs/callback-url'
import { Limits, ModelKeys, ModelName, Permissions, Repo } from './fields'

/** Background runs: the body that starts one, and the run as it is shown. */

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
