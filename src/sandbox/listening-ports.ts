/**
 * Which TCP ports a sandbox's processes listen on, from the kernel's socket tables
 * (/proc/net/tcp and tcp6), and what changed since the last look. Pure: the local sandbox host
 * and E2B's watcher feed it the tables' text.
 */

/** A socket in LISTEN state: its port and its inode (which /proc/<pid>/fd links name as `socket:[inode]`). */
export type ListeningSocket = { port: number; inode: string }

/**
 * The LISTEN sockets of one /proc/net/tcp or tcp6 table. Self-contained (E2B's watcher script
 * carries its source: port-watch-command.ts).
 */
export function listeningSockets(table: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = []
  for (const line of table.split('\n').slice(1)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    const fields = line.trim().split(/\s+/)
    // 0A: TCP_LISTEN, in the `st` column
    if (fields.length < 10 || fields[3] !== '0A') continue
    const port = Number.parseInt(fields[1]!.split(':').pop() ?? '', 16)
    if (Number.isInteger(port) && port > 0) sockets.push({ port, inode: fields[9]! })
  }
  return sockets
}

/** Ports, ascending and each once. */
export function portSet(ports: Iterable<number>): number[] {
  return [...new Set(ports)].sort((a, b) => a - b)
}

export function samePorts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((port, i) => port === b[i])
}

export type PortChange = { port: number; state: 'open' | 'closed' }

/** What a `sandbox.port` event says between two looks: newly listening ports opened, the gone ones closed. */
export function portChanges(before: readonly number[], after: readonly number[]): PortChange[] {
  const was = new Set(before)
  const now = new Set(after)
  return [
    ...before.filter((port) => !now.has(port)).map((port) => ({ port, state: 'closed' as const })),
    ...after.filter((port) => !was.has(port)).map((port) => ({ port, state: 'open' as const })),
  ]
}

/** How long one look for a change waits before it answers with the ports as they are. */
export const PORT_WATCH_WAIT_MS = 25_000
/** How often a waiting look reads the tables again. */
export const PORT_WATCH_EVERY_MS = 1_000
