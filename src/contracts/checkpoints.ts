import { z } from '@hono/zod-openapi'
import { SessionParams } from './sessions'

/** Checkpoints: what a session saved of its workspace and its agent's memory, turn by turn (docs/checkpoints.md). */

export const Checkpoint = z
  .object({
    checkpoint: z.number().int().positive().openapi({ description: 'its number in the session, from 1' }),
    messageId: z.string().nullable().openapi({ description: 'the user message whose turn it was saved after; null when saved before a pause' }),
    createdAt: z.string(),
    sizeBytes: z.number().int().nonnegative().openapi({ description: 'what it holds, compressed: the changes and the agent’s record' }),
    filesChanged: z.number().int().nonnegative().openapi({ description: 'files that differ from the commit the workspace started from' }),
  })
  .openapi('Checkpoint')
export type Checkpoint = z.infer<typeof Checkpoint>

export const CheckpointList = z
  .object({
    enabled: z.boolean().openapi({ description: 'false when this deployment keeps no checkpoints (GET /ready says why)' }),
    checkpoints: z.array(Checkpoint).openapi({ description: 'oldest first' }),
  })
  .openapi('CheckpointList')
export type CheckpointList = z.infer<typeof CheckpointList>

export const CheckpointParams = SessionParams.extend({
  n: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31)
    .openapi({ param: { name: 'n', in: 'path' }, example: 1 }),
})

export const RestoreBody = z
  .object({ checkpoint: z.number().int().positive().max(2 ** 31).openapi({ description: 'a checkpoint of this session, as `checkpoint` of `GET /checkpoints`' }) })
  .strict()
  .openapi('Restore')
