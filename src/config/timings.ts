import { z } from 'zod'

/**
 * The intervals and deadlines behind the bounds the README documents (*When things break*),
 * in one place. Production keeps the defaults; the TIMINGS setting shortens them so that tests
 * can check a bound without waiting its full length.
 */
export type Timings = {
  /** How often an active session wakes to look after its sandbox: the bound on noticing a vanished sandbox nobody follows, and the kill retry. */
  wakeMs: number
  /** The first retry of a pause the provider refused; it doubles with each failure, at most 10 minutes. */
  pauseRetryMs: number
  /** How long opencode's event stream may stay silent before it counts as dead (opencode sends a heartbeat every 10 s). */
  silenceMs: number
  /** How long opencode's event stream may take to open. */
  agentOpenMs: number
  /** How long opencode may take to answer a request. */
  agentCallMs: number
  /** How long a call to the local sandbox host may take (an exec: its own timeout plus this). */
  sandboxCallMs: number
  /** How often a session's event stream gets `: ping`, and a client that took nothing since the last is cut. */
  pingMs: number
  /** How soon a failed warm pool refill is tried again. */
  refillRetryMs: number
  /** How long warm pool refills stop once they keep failing. */
  refillPauseMs: number
}

export const DEFAULT_TIMINGS: Readonly<Timings> = Object.freeze({
  wakeMs: 30_000,
  pauseRetryMs: 30_000,
  silenceMs: 30_000,
  agentOpenMs: 30_000,
  agentCallMs: 30_000,
  sandboxCallMs: 60_000,
  pingMs: 10_000,
  refillRetryMs: 30_000,
  refillPauseMs: 5 * 60_000,
})

/** A day at most: timers past 2^31 ms fire at once, and nothing here should wait that long. */
const Ms = z.number().int().positive().max(86_400_000)

/** TIMINGS: a JSON object of any of the fields above, each a positive whole number of milliseconds. */
export const TimingsSetting = z
  .object(Object.fromEntries(Object.keys(DEFAULT_TIMINGS).map((k) => [k, Ms.optional()])) as { [K in keyof Timings]: z.ZodOptional<typeof Ms> })
  .strict()

/**
 * TIMINGS read: the defaults when unset; the defaults and the reason when it is not such an
 * object. The reason names fields and rules, never the value.
 */
export function parseTimings(text: string | undefined): { timings: Timings; error?: string } {
  if (!text?.trim()) return { timings: { ...DEFAULT_TIMINGS } }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { timings: { ...DEFAULT_TIMINGS }, error: 'TIMINGS is not valid JSON' }
  }
  const parsed = TimingsSetting.safeParse(json)
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => {
      // An unknown key's issue message would quote the key, which is part of the value.
      const rule = i.code === 'unrecognized_keys' ? 'unknown fields' : i.message
      return `${i.path.length ? i.path.join('.') : '(the object)'}: ${rule}`
    })
    return { timings: { ...DEFAULT_TIMINGS }, error: `TIMINGS is not valid: ${issues.join('; ')}` }
  }
  const given = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined))
  return { timings: { ...DEFAULT_TIMINGS, ...given } }
}
