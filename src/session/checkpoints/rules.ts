/**
 * Pure decisions about a session's checkpoints: where each part is kept, whether a new one is
 * kept, and which old ones go. ./checkpoints carries them out.
 */

/** Checkpoints kept per session; older ones go as new ones come. */
export const MAX_CHECKPOINTS = 50

export type CheckpointPart = 'workspace' | 'agent'

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
