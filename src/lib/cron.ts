import { Cron } from 'croner'

/**
 * Cron expressions and the time they next fire, in an IANA time zone. Five fields (minute hour
 * day-of-month month day-of-week) as crontab writes them, or six with seconds first; croner does
 * the calendar and the zone's daylight-saving shifts (a local time skipped by a shift fires at the
 * first moment after it).
 */

const FIELDS = [5, 6]

/** Why `expression` in `timezone` is no schedule, or undefined when it is one that fires. */
export function cronProblem(expression: string, timezone: string, nowMs: number): string | undefined {
  if (!validTimeZone(timezone)) return `unknown time zone "${timezone}" (an IANA name such as "Europe/Berlin" or "UTC")`
  const fields = expression.trim().split(/\s+/).length
  if (!FIELDS.includes(fields)) return 'expected five fields (minute hour day month weekday), or six with seconds first'
  let next: number | undefined
  try {
    next = nextFiring(expression, timezone, nowMs)
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^CronPattern: /, '') : 'not a cron expression'
  }
  return next === undefined ? 'never fires' : undefined
}

/** The first firing strictly after `afterMs`, or undefined when there is none. Throws on a bad expression. */
export function nextFiring(expression: string, timezone: string, afterMs: number): number | undefined {
  const cron = new Cron(expression.trim(), { timezone, paused: true })
  return cron.nextRun(new Date(afterMs))?.getTime()
}

function validTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone })
    return true
  } catch {
    return false
  }
}
