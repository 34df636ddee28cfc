import type { WarmSandbox } from './pool'

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
