import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readlinkSync } from 'node:fs'
import { readlink } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Each sandbox gets its own network namespace, so that two sandboxes can both listen on port 4096
 * and neither can reach the host. The namespace is held by an anchor process (anchor.mjs) that
 * also carries all traffic in and out through Unix sockets in the sandbox's run folder: Unix
 * sockets live in the filesystem, which is shared, not in the network namespace.
 */

const ANCHOR_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'anchor.mjs')
/** Linux's limit for a Unix socket path (sun_path), terminating NUL included. */
const MAX_SOCKET_PATH = 107

export type Namespace = {
  /** the anchor's pid; `/proc/<pid>/ns/net` is the namespace */
  pid: number
  netns: string
  /** with a bind: `/proc/<pid>/ns/mnt`, where the sandbox's processes must run too */
  mountns?: string
  anchor: ChildProcess
  close(): void
}

export class PortClosedError extends Error {}

/** Serves `<runDir>/egress-<port>.sock` outside, each connection going to the host's 127.0.0.1:<port>. */
async function serveEgress(runDir: string, port: number): Promise<Server> {
  const server = createServer((inside) => {
    const host = connect(port, '127.0.0.1')
    inside.on('error', () => host.destroy())
    host.on('error', () => inside.destroy())
    inside.pipe(host).pipe(inside)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(join(runDir, `egress-${port}.sock`), resolve)
  })
  return server
}

/** A folder of the host shown inside the namespace at another path (`over`), as a fork's home where the original's was. */
export type HomeBind = { folder: string; over: string }

export async function startNamespace(runDir: string, egressPorts: number[], bind?: HomeBind): Promise<Namespace> {
  const longest = join(runDir, `egress-65535.sock`)
  if (longest.length > MAX_SOCKET_PATH) throw new Error(`socket paths under ${runDir} are too long for Unix sockets; use a shorter root`)
  const egress = await Promise.all(egressPorts.map((port) => serveEgress(runDir, port)))
  // unshare execs sh, which execs node: the anchor keeps unshare's pid. A bind gets a mount
  // namespace of its own (private: nothing of it reaches the host's mounts).
  const node = [process.execPath, ANCHOR_SCRIPT, runDir, ...egressPorts.map(String)]
  const args = bind
    ? ['--net', '--mount', '--', 'sh', '-c', 'ip link set lo up && mount --bind "$0" "$1" && shift && exec "$@"', bind.folder, bind.over, ...node]
    : ['--net', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', ...node]
  const anchor = spawn('unshare', args, { stdio: ['pipe', 'pipe', 'pipe'] })
  const close = () => {
    anchor.kill('SIGKILL')
    for (const server of egress) server.close()
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let stderr = ''
      anchor.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
      anchor.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve()
      })
      anchor.once('error', reject)
      anchor.once('exit', (code) => reject(new Error(`the sandbox's network namespace failed (exit ${code}): ${stderr.trim()}`)))
    })
  } catch (err) {
    close()
    throw err
  }
  const pid = anchor.pid!
  return { pid, netns: await readlink(`/proc/${pid}/ns/net`), ...(bind && { mountns: `/proc/${pid}/ns/mnt` }), anchor, close }
}

/** A connection to 127.0.0.1:<port> inside the namespace; PortClosedError when nothing listens there. */
export function dialPort(runDir: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(join(runDir, 'ingress.sock'))
    socket.once('error', reject)
    socket.once('connect', () => socket.write(`${port}\n`))
    socket.once('readable', () => {
      const answer = socket.read(1) as Buffer | null
      socket.removeListener('error', reject)
      if (answer?.toString() === '1') return resolve(socket)
      socket.destroy()
      reject(new PortClosedError(`nothing listens on port ${port}`))
    })
  })
}

/**
 * Every process whose network namespace is `netns` (the anchor's), however it was started:
 * daemons that left their process group included. Synchronous, so that a listing is one instant.
 */
export function pidsInNamespace(netns: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === netns) pids.push(Number(entry))
    } catch {
      // the process ended while we looked
    }
  }
  return pids
}
