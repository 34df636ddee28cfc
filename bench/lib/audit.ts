/**
 * The soak's verdict on one client's stream: the ids it received over all its connections, in
 * the order they arrived, against the contract's promise that a client resuming with
 * `Last-Event-ID` gets every later event exactly once, in order.
 */
export type IdAudit = {
  received: number
  /** ids from the first one owed to the session's last that never arrived */
  lost: number[]
  /** ids that arrived again, once per extra arrival */
  duplicated: number[]
  /** ids that arrived for the first time after a higher one */
  outOfOrder: number[]
}

/** `from`: the first id the client is owed (one past the id it first asked after); `to`: the session's last. */
export function auditIds(ids: readonly number[], from: number, to: number): IdAudit {
  const seen = new Set<number>()
  const duplicated: number[] = []
  const outOfOrder: number[] = []
  let highest = -Infinity
  for (const id of ids) {
    if (seen.has(id)) duplicated.push(id)
    else if (id < highest) outOfOrder.push(id)
    seen.add(id)
    highest = Math.max(highest, id)
  }
  const lost: number[] = []
  for (let id = from; id <= to; id++) if (!seen.has(id)) lost.push(id)
  return { received: ids.length, lost, duplicated, outOfOrder }
}

/** Ids as short ranges for a report: `3-7, 12`. */
export function idRanges(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b)
  const out: string[] = []
  for (let i = 0; i < sorted.length; ) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`)
    i = j + 1
  }
  return out.join(', ')
}
