import type { SandboxEndpoint } from './provider'

/**
 * A sandbox with opencode already answering, waiting for its one session. `agentSessionId` is an
 * opencode session made ahead too: creating one is most of what a warm start would still wait for.
 */
export type WarmSandbox = {
  sandboxId: string
  workdir: string
  home: string
  endpoint: SandboxEndpoint
  password: string
  agentSessionId?: string
  /** the digest of the sandbox's gateway token, which names the warm sandbox until a session takes it */
  gatewayDigest: string
  gatewayOwner: string
  /** when it was made or last resumed: E2B ends a sandbox that runs past the plan's limit (see e2b-limits.ts) */
  runningSince?: number
}

/** A pooled repository sandbox: a warm one whose workspace is the pool's repository at `commit`, set up. */
export type RepoWarmSandbox = WarmSandbox & { commit: string; createdAt: number }

/**
 * A session's sandbox as stored: where its agent answers, whether it is paused, and until when
 * the provider keeps it on its own (unknown for one from the warm pool).
 */
export type SandboxRecord = Omit<WarmSandbox, 'gatewayDigest' | 'gatewayOwner'> & {
  paused?: boolean
  /** when it was paused, for the paused session's retention */
  pausedAt?: number
  deadline?: number
}
