/**
 * How long past the idle deadline the provider keeps a sandbox on its own. The session pauses it
 * at the deadline; the grace only matters when the session cannot (its object was evicted, or
 * a deploy is under way), and then the sandbox ends rather than bill forever.
 */
export const SANDBOX_GRACE_MS = 10 * 60_000
