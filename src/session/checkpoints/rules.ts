import type { SandboxStatus } from '../../sandbox/provider'

/**
 * Pure decisions about a session's checkpoints: where each part is kept, whether a new one is
 * kept, and which old ones go. ./checkpoints carries them out.
 */

/** Checkpoints kept per session; older ones go as new ones come. */
export const MAX_CHECKPOINTS = 50

export type CheckpointPart = 'workspace' | 'agent'

/**
 * A checkpoint as a fork of the session takes it: its changes (opened, still gzipped) and the turn
 * whose conversation goes with it; for a fork of a session without a sandbox (hibernated), all it
 * holds, the agent's record too, for the fork to keep as its own first checkpoint and restore.
 */
export type ForkPoint = {
  checkpoint: number
  baseCommit: string
  patch: Uint8Array
  messageId?: string
  /** the whole checkpoint, when the fork starts from it alone */
  alone?: { agent: Uint8Array; agentSessionId: string; digest: string; filesChanged: number }
}

/** Where the session's checkpoints are kept in the bucket; one prefix per session, so that ending it deletes them all. */
export const sessionPrefix = (sessionId: string) => `sessions/${sessionId}/checkpoints/`

/** A part's object name, which its sealing is bound to as well. */
export const objectName = (sessionId: string, n: number, part: CheckpointPart) => `${sessionPrefix(sessionId)}${n}/${part}`

export type CheckpointVerdict = { action: 'keep' } | { action: 'unchanged' } | { action: 'empty' } | { action: 'too_large'; message: string }

/**
 * Whether a new checkpoint is kept: not when it holds what the last one did (a pause after a
 * turn, a turn that changed nothing and said nothing new), nor when there is nothing to keep yet
 * (no change, no conversation: a session that never worked ends at its paused retention as
 * before), nor when it is over the limit, the last one staying the one a new sandbox gets.
 */
export function checkpointVerdict(s: { bytes: number; maxBytes: number; digest: string; lastDigest?: string; empty?: boolean }): CheckpointVerdict {
  if (s.digest === s.lastDigest) return { action: 'unchanged' }
  if (s.empty && s.lastDigest === undefined) return { action: 'empty' }
  if (s.bytes > s.maxBytes) return { action: 'too_large', message: tooLargeMessage(s.bytes, s.maxBytes) }
  return { action: 'keep' }
}

/** What the `error` event of a checkpoint over the limit says. */
export const tooLargeMessage = (bytes: number, maxBytes: number) =>
  `the checkpoint would hold ${bytes} bytes, over the ${maxBytes} allowed (CHECKPOINT_MAX_BYTES); the one before is kept`

/** The checkpoints to delete once checkpoint `newest` is kept: all but the newest `keep`. */
export function prunable(numbers: number[], keep = MAX_CHECKPOINTS): number[] {
  return [...numbers].sort((a, b) => b - a).slice(keep)
}

/** What a client is told of a checkpoint that does not open. */
export const unreadableMessage = (n: number) =>
  `checkpoint ${n} cannot be opened: SECRETS_KEY was changed since it was saved, or its stored data is damaged or missing`

/** What the `error` event of a save that failed says; `reason` only when it is ours to tell (never a provider's words). */
export const saveFailedMessage = (reason: string | undefined) =>
  `the checkpoint after this turn was not saved${reason ? ` (${reason})` : ''}; the one before is kept, and the next turn's end tries again`

/**
 * Whether a failed save is said on the stream: while the sandbox is there, the failure is the
 * workspace's or the store's, and the user's work is not being kept. A sandbox gone, paused or
 * not answering the provider is said by its recovery, and a save then failing is no news.
 */
export function saveFailureIsNews(status: SandboxStatus | undefined): boolean {
  return status === 'running' || status === 'agent_exited'
}

/**
 * The user message whose turn a fork from checkpoint `n` keeps the conversation up to: the one
 * the checkpoint followed, or for a checkpoint saved outside a turn (before a pause, after a
 * roll-back), that of the last checkpoint before it that followed a turn. None: no checkpoint up
 * to `n` followed a turn, and the fork keeps the conversation as it stands.
 */
export function forkMessageOf(checkpoints: { checkpoint: number; messageId: string | null }[], n: number): string | undefined {
  return checkpoints
    .filter((c) => c.checkpoint <= n && c.messageId !== null)
    .sort((a, b) => b.checkpoint - a.checkpoint)[0]?.messageId ?? undefined
}
