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

/** Socket inodes held by each sandbox's processes under `root`, less those of the processes `skip` names. */
function socketsBySandbox(root: string, skip: Set<number>): Map<string, Set<string>> {
  const held = new Map<string, Set<string>>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid) || skip.has(pid)) continue
    const sandboxId = sandboxOfEnviron(read(`/proc/${pid}/environ`), root)
    if (!sandboxId) continue
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
  return held
}

/** Every sandbox's listening ports, in one look at /proc. */
export function portsBySandbox(root: string, skip: Set<number>): Map<string, number[]> {
  const held = socketsBySandbox(root, skip)
  const sockets = [...listeningSockets(read('/proc/net/tcp')), ...listeningSockets(read('/proc/net/tcp6'))]
  const ports = new Map<string, number[]>()
  for (const [sandboxId, inodes] of held) ports.set(sandboxId, portSet(sockets.filter((s) => inodes.has(s.inode)).map((s) => s.port)))
  return ports
}

type Waiter = { sandboxId: string; known: number[]; until: number; answer(ports: number[]): void }

/**
 * The sandboxes' ports, and watches on them: one look at /proc every PORT_WATCH_EVERY_MS while
 * anyone waits, whatever the number of sandboxes watched.
 */
export class SandboxPorts {
  private readonly waiters = new Set<Waiter>()
  private timer: NodeJS.Timeout | undefined

  /** `skip`: the processes whose ports are no sandbox's to show (each sandbox's agent server). */
  constructor(
    private readonly root: string,
    private readonly skip: () => Set<number>,
  ) {}

  now(sandboxId: string): number[] {
    return portsBySandbox(this.root, this.skip()).get(sandboxId) ?? []
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
    const ports = portsBySandbox(this.root, this.skip())
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
