import type { PublicEventType } from '../contracts'

/**
 * How large a session's event log may grow, whatever kinds of event a sandbox floods it with.
 * Past MAX_LOG_BYTES of stored event data the oldest events go, the superseded kinds first
 * (SUPERSEDED), until the log is down to COMPACTED_SHARE of the bound: compaction then runs once
 * per quarter of the bound appended, not at every append.
 */

/** The bound on a session's stored event data (UTF-8 bytes of each event's JSON). */
export const MAX_LOG_BYTES = 32 * 1024 * 1024
export const COMPACTED_SHARE = 0.75

/**
 * Event kinds whose content something else holds, so dropping old ones loses nothing a client
 * needs to rebuild the session: a delta's text is in its `message.completed` and the
 * conversation, a pending or running tool's in the tool's later updates, the todo list and title
 * in the session (GET), file changes in the diff. `tool.updated` counts only while not final.
 */
export const SUPERSEDED: { type: PublicEventType; states?: string[] }[] = [
  { type: 'message.delta' },
  { type: 'tool.updated', states: ['pending', 'running'] },
  { type: 'file.changed' },
  { type: 'todo.updated' },
  { type: 'session.updated' },
]

/** How many bytes must go for a log of `stored` bytes to be back under its bound; 0 while within it. */
export function bytesToFree(stored: number, maxBytes = MAX_LOG_BYTES): number {
  if (stored <= maxBytes) return 0
  return stored - Math.floor(maxBytes * COMPACTED_SHARE)
}

const encoder = new TextEncoder()

/** The bytes an event's data takes in the log (SQLite keeps text as UTF-8). */
export const storedBytes = (data: string) => encoder.encode(data).byteLength
