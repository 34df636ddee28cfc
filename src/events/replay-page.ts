/**
 * How much of the log one replay read takes: a page is bounded by its rows and by their bytes
 * together, since a row may be a whole completed message (up to a few MB) and a page is held
 * in memory three times (rows, frames, encoded bytes) while it is sent.
 */

/** Rows read at most per page, whatever their size. */
export const REPLAY_PAGE_ROWS = 500
/** Bytes of event data read at most per page, but for a single row larger than this. */
export const REPLAY_PAGE_BYTES = 1024 * 1024

/** How many of the rows (their sizes in bytes, in order) one page takes: at least one, so a replay always moves on. */
export function pageLength(sizes: number[], maxBytes = REPLAY_PAGE_BYTES): number {
  let total = 0
  for (const [i, size] of sizes.entries()) {
    total += size
    if (total > maxBytes) return Math.max(i, 1)
  }
  return sizes.length
}
