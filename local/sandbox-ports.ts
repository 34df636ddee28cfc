import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { listeningSockets, PORT_WATCH_EVERY_MS, PORT_WATCH_WAIT_MS, portSet, samePorts } from '../src/sandbox/listening-ports'
import { sandboxOfEnviron } from './sandbox-processes'

/**
 * Which ports belong to which local sandbox. Local sandboxes share the machine's network, so a
 * port is a sandbox's only when the socket listening on it is held by one of its processes: the
 * LISTEN sockets of /proc/net/tcp{,6} whose inode is among the open files of a process whose
 * HOME lies in that sandbox's folder (every sandbox process is started so, as the reaper counts
 * them). The host's, wrangler's and another sandbox's ports are never any sandbox's; a sandbox
 * process that changes its HOME only loses its own ports.
 */

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/**
 * Whose each process is (a sandbox's id, or none), by pid, read once per process (its environment
 * at its start never changes); a pid is forgotten at the first look that finds it gone, so a pid
 * the kernel gives again between two looks a second apart is the one case it could misname.
 */
export type Owners = Map<number, string | undefined>

/** Socket inodes held by the processes of the sandboxes `wanted` names under `root`, less those of the processes `skip` names. */
function socketsBySandbox(root: string, wanted: Set<string>, skip: Set<number>, owners: Owners): Map<string, Set<string>> {
  const held = new Map<string, Set<string>>()
  const alive = new Set<number>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    alive.add(pid)
    if (skip.has(pid)) continue
    if (!owners.has(pid)) owners.set(pid, sandboxOfEnviron(read(`/proc/${pid}/environ`), root))
    const sandboxId = owners.get(pid)
    if (!sandboxId || !wanted.has(sandboxId)) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue
    }
    const inodes = held.get(sandboxId) ?? new Set<string>()
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]
        if (inode) inodes.add(inode)
      } catch {
        // closed while we looked
      }
    }
    held.set(sandboxId, inodes)
  }
  for (const pid of owners.keys()) if (!alive.has(pid)) owners.delete(pid)
  return held
}

/** The listening ports of each sandbox `wanted` names, in one look at /proc. */
export function portsBySandbox(root: string, wanted: Set<string>, skip: Set<number>, owners: Owners = new Map()): Map<string, number[]> {
  const held = socketsBySandbox(root, wanted, skip, owners)
  const ports = new Map<string, number[]>()
  if ([...held.values()].every((inodes) => inodes.size === 0)) return ports
  const sockets = [...listeningSockets(read('/proc/net/tcp')), ...listeningSockets(read('/proc/net/tcp6'))]
  for (const [sandboxId, inodes] of held) ports.set(sandboxId, portSet(sockets.filter((s) => inodes.has(s.inode)).map((s) => s.port)))
  return ports
}

type Waiter = { sandboxId: string; known: number[]; until: number; answer(ports: number[]): void }

/**
 * The sandboxes' ports, and watches on them: one look at /proc every PORT_WATCH_EVERY_MS while
 * anyone waits, whatever the number of sandboxes watched; a process's environment is read once,
 * the tables only when a watched sandbox holds a socket.
 */
export class SandboxPorts {
  private readonly waiters = new Set<Waiter>()
  private timer: NodeJS.Timeout | undefined
  private readonly owners: Owners = new Map()

  /** `skip`: the processes whose ports are no sandbox's to show (each sandbox's agent server). */
  constructor(
    private readonly root: string,
    private readonly skip: () => Set<number>,
  ) {}

  now(sandboxId: string): number[] {
    return portsBySandbox(this.root, new Set([sandboxId]), this.skip(), this.owners).get(sandboxId) ?? []
  }

  /** The sandbox's ports once they differ from `known`, or as they are after PORT_WATCH_WAIT_MS. */
  watch(sandboxId: string, known: number[], signal: AbortSignal): Promise<number[]> {
    const now = this.now(sandboxId)
    if (!samePorts(now, known)) return Promise.resolve(now)
    return new Promise((resolve) => {
      const waiter: Waiter = {
        sandboxId,
        known,
        until: Date.now() + PORT_WATCH_WAIT_MS,
        answer: (ports) => {
          this.waiters.delete(waiter)
          resolve(ports)
        },
      }
      signal.addEventListener('abort', () => waiter.answer(known), { once: true })
      this.waiters.add(waiter)
      this.timer ??= setInterval(() => this.look(), PORT_WATCH_EVERY_MS)
    })
  }

  close() {
    for (const waiter of [...this.waiters]) waiter.answer(waiter.known)
    this.stop()
  }

  private look() {
    const ports = portsBySandbox(this.root, new Set([...this.waiters].map((waiter) => waiter.sandboxId)), this.skip(), this.owners)
    for (const waiter of [...this.waiters]) {
      const now = ports.get(waiter.sandboxId) ?? []
      if (!samePorts(now, waiter.known) || Date.now() >= waiter.until) waiter.answer(now)
    }
    if (this.waiters.size === 0) this.stop()
  }

  private stop() {
    clearInterval(this.timer)
    this.timer = undefined
  }
}
