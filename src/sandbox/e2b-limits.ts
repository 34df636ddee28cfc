/**
 * The E2B plan's limits, which the deployment keeps within instead of meeting E2B's refusals:
 * sandboxes running at once across the account (20 on Hobby, 100 on Pro: E2B_MAX_SANDBOXES) and
 * how long one may run without a pause (1 h on Hobby, 24 h on Pro: E2B_MAX_RUN_SECONDS).
 */
export type E2BLimits = {
  /** sandboxes running at once, sessions' and warm pools' alike; none when unset */
  maxSandboxes?: number
  /** how long a sandbox may run before E2B ends it; none when unset */
  maxRunMs?: number
}

const LIMIT_SETTINGS = { maxSandboxes: 'E2B_MAX_SANDBOXES', maxRunSeconds: 'E2B_MAX_RUN_SECONDS' } as const

/**
 * The continuous-run limit assumed for E2B's sandboxes when E2B_MAX_RUN_SECONDS is not set (or
 * not valid): the Pro plan's day. E2B ends a sandbox there whether or not the deployment knows
 * it, so a limit it does not know of would end turns by surprise.
 */
export const DEFAULT_MAX_RUN_SECONDS = 86_400

/** The limits read; each malformed one named (never its value), for /ready. */
export function parseE2BLimits(env: { E2B_MAX_SANDBOXES?: string; E2B_MAX_RUN_SECONDS?: string; SANDBOX_PROVIDER?: string }): { limits: E2BLimits; errors: string[] } {
  const errors: string[] = []
  const read = (name: (typeof LIMIT_SETTINGS)[keyof typeof LIMIT_SETTINGS]): number | undefined => {
    const text = env[name]?.trim()
    if (!text) return undefined
    const n = Number(text)
    if (Number.isInteger(n) && n > 0) return n
    errors.push(`${name} is not a positive whole number`)
    return undefined
  }
  const maxSandboxes = read(LIMIT_SETTINGS.maxSandboxes)
  const maxRunSeconds = read(LIMIT_SETTINGS.maxRunSeconds) ?? (env.SANDBOX_PROVIDER === 'e2b' ? DEFAULT_MAX_RUN_SECONDS : undefined)
  return { limits: { ...(maxSandboxes && { maxSandboxes }), ...(maxRunSeconds && { maxRunMs: maxRunSeconds * 1000 }) }, errors }
}

/**
 * Whether one more sandbox may be made, with `running` running now (E2B's count for the account).
 * A warm pool stops one short of the budget, so that its sandboxes never leave a new session
 * without room.
 */
export function sandboxBudget(s: { running: number; max: number | undefined; forPool: boolean }): { ok: true } | { ok: false; reason: string } {
  if (s.max === undefined) return { ok: true }
  const room = s.forPool ? s.max - 1 : s.max
  if (s.running < room) return { ok: true }
  return {
    ok: false,
    reason: `${s.running} sandboxes are running, the deployment's budget (E2B_MAX_SANDBOXES) is ${s.max}: try again when a session has ended or gone idle`,
  }
}

/**
 * When a sandbox that has run since `runningSince` is to be paused, between turns, ahead of E2B
 * ending it at the run limit: a quarter of the limit early, ten minutes at most, so the session's
 * periodic wake (every 30 s) finds it in time. A pause and a resume start the run afresh.
 */
export function runPauseAt(runningSince: number, maxRunMs: number): number {
  return runningSince + maxRunMs - Math.min(maxRunMs / 4, 10 * 60_000)
}

/**
 * sandboxBudget against the provider's count now. A provider that cannot count (local), or
 * cannot be asked this moment, is no reason to refuse: E2B itself still refuses past its cap.
 * `runsAlready`: the sandbox wanted runs already (taken from a pool), so nothing is added and the
 * provider is not asked; awaited only where there is a budget to check.
 */
export async function budgetNow(
  provider: { running?(): Promise<number> },
  max: number | undefined,
  forPool: boolean,
  runsAlready: () => Promise<boolean> = async () => false,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (max === undefined || !provider.running || (await runsAlready())) return { ok: true }
  const running = await provider.running().catch(() => undefined)
  return running === undefined ? { ok: true } : sandboxBudget({ running, max, forPool })
}
