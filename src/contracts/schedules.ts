import { z } from '@hono/zod-openapi'
import { ID_PATTERN } from '../lib/ids'
import { Repo } from './fields'
import { RunBody, RunStatus } from './runs'

/** Schedules: runs started by the clock, the body that makes one, and the schedule as it is shown. */

const Cron = z
  .string()
  .min(1)
  .max(200)
  .openapi({
    description:
      'Five fields (minute hour day-of-month month day-of-week), or six with seconds first; lists, ranges, steps and names as crontab takes them',
    example: '0 9 * * 1-5',
  })

const TimeZone = z.string().min(1).max(100).openapi({ description: 'an IANA time zone the hours are read in', example: 'Europe/Berlin' })

export const ScheduleBody = z
  .object({
    cron: Cron,
    timezone: TimeZone.default('UTC'),
    run: RunBody.openapi({
      description:
        'What each firing starts, as the body of `POST /v1/runs`; `idempotencyKey` is the schedule\'s own (one per firing). Model keys and `repo.token` are kept sealed and never shown again',
    }),
    paused: z.boolean().optional().openapi({ description: 'create it paused' }),
  })
  .strict()
  .openapi('CreateSchedule')

export const SchedulePatch = z
  .object({ cron: Cron.optional(), timezone: TimeZone.optional(), run: RunBody.optional() })
  .strict()
  .refine((p) => Object.keys(p).length > 0, 'nothing to change')
  .openapi('UpdateSchedule')

export const ScheduleParams = z.object({
  id: z
    .string()
    .regex(ID_PATTERN, 'not a schedule id')
    .openapi({ param: { name: 'id', in: 'path' }, example: 'sch_0123456789abcdefghjk' }),
})

/** A schedule's run body as it is shown: without its model keys and repository token. */
const ShownRun = RunBody.omit({ modelKeys: true, repo: true }).extend({
  repo: Repo.optional(),
  modelKeys: z.array(z.string()).optional().openapi({ description: 'the providers it brings keys for; the keys are never shown' }),
})

export const Schedule = z
  .object({
    id: z.string(),
    cron: z.string(),
    timezone: z.string(),
    run: ShownRun,
    state: z.enum(['active', 'paused']),
    pausedReason: z.string().optional().openapi({ description: 'why it paused itself (after three failed runs in a row), or that it was paused by request' }),
    nextRunAt: z.string().datetime().nullable().openapi({ description: 'when it fires next; null while paused' }),
    lastFiredAt: z.string().datetime().nullable(),
    consecutiveFailures: z.number().int(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi('Schedule')

export const ScheduleList = z.object({ items: z.array(Schedule) }).openapi('ScheduleList')

export const ScheduleRun = z
  .object({
    runId: z.string(),
    firedAt: z.string().datetime(),
    status: RunStatus,
    error: z.string().optional().openapi({ description: 'why the run could not start (the tenant\'s run rate, a key that no longer opens)' }),
  })
  .openapi('ScheduleRun')

export const ScheduleRuns = z
  .object({ items: z.array(ScheduleRun).openapi({ description: 'newest first; the last 100 firings' }) })
  .openapi('ScheduleRuns')

export type ScheduleBody = z.infer<typeof ScheduleBody>
/** A schedule's run as it is kept in plain and shown: its model keys and token apart, sealed. */
export type ShownRun = z.infer<typeof ShownRun>
export type SchedulePatch = z.infer<typeof SchedulePatch>
export type ScheduleView = z.infer<typeof Schedule>
export type ScheduleRunView = z.infer<typeof ScheduleRun>
