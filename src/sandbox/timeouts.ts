/**
 * How long past the idle deadline the provider keeps a sandbox on its own. The session pauses it
 * at the deadline; the grace only matters when the session cannot (its object was evicted, or
 * a deploy is under way), and then the sandbox ends rather than bill forever.
 */
export const SANDBOX_GRACE_MS = 10 * 60_000

/** Clone and setup may legitimately take minutes; beyond these they count as failed. */
export const CLONE_TIMEOUT_MS = 10 * 60_000
export const SETUP_TIMEOUT_MS = 20 * 60_000

/**
 * The watchdog's bound on making a session's sandbox: a clone and a setup at their own limits,
 * plus creating, starting opencode and a retried create. Past it something hangs that no
 * call's own timeout caught, and the work is abandoned (PROVISION_TIMEOUT_SECONDS overrides it).
 */
export const PROVISION_WATCHDOG_MS = CLONE_TIMEOUT_MS + SETUP_TIMEOUT_MS + 5 * 60_000

/** The watchdog's bound on resuming, pausing or recovering a sandbox: probes, a resume, an agent restart (RECOVERY_TIMEOUT_SECONDS). */
export const RECOVERY_WATCHDOG_MS = 5 * 60_000
