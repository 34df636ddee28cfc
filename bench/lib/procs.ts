import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/**
 * What /proc says of the processes a benchmark started, so that a soak can weigh the Worker and
 * count what outlived its sessions. Other stacks may run on the same machine: processes are
 * told apart by ancestry (workerd) or by where they live (opencode), never by name alone.
 */

type Proc = { pid: number; ppid: number; name: string; rssBytes: number; cpuTicks: number }

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined // gone since the listing, or not ours to read
  }
}

function proc(pid: number): Proc | undefined {
  const stat = read(`/proc/${pid}/stat`)
  const status = read(`/proc/${pid}/status`)
  if (!stat || !status) return undefined
  // The name in parentheses may hold spaces and parentheses itself: the fields follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const rssKiB = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]
  // utime and stime, fields 14 and 15 of stat, the 12th and 13th after the name.
  const cpuTicks = Number(fields[11]) + Number(fields[12])
  return { pid, ppid: Number(fields[1]), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), rssBytes: Number(rssKiB ?? 0) * 1024, cpuTicks }
}

const pids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)

function descendants(root: number): Proc[] {
  const all = pids().flatMap((pid) => proc(pid) ?? [])
  const children = new Map<number, Proc[]>()
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p])
  const out: Proc[] = []
  const queue = [root]
  while (queue.length) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child)
      queue.push(child.pid)
    }
  }
  return out
}

/** The resident memory of the workerd processes this process started (through wrangler dev). */
export function workerdMemory(root = process.pid): { processes: number; rssBytes: number } {
  const workerd = descendants(root).filter((p) => p.name === 'workerd')
  return { processes: workerd.length, rssBytes: workerd.reduce((sum, p) => sum + p.rssBytes, 0) }
}

/** The CPU time (user and system) the workerd processes this process started have used so far. */
export function workerdCpuMs(root = process.pid): number {
  const ticks = descendants(root).filter((p) => p.name === 'workerd').reduce((sum, p) => sum + p.cpuTicks, 0)
  return (ticks * 1000) / TICKS_PER_SECOND
}

/** The CPU time of the Node processes this process started (wrangler dev's CLI, which runs its proxy). */
export function nodeCpuMs(root = process.pid): number {
  const ticks = descendants(root).filter((p) => p.name === 'node').reduce((sum, p) => sum + p.cpuTicks, 0)
  return (ticks * 1000) / TICKS_PER_SECOND
}

/** `opencode serve` processes whose working folder or home lies under `dir` (a stack's temp folder). */
export function opencodeProcessesUnder(dir: string): number[] {
  return pids().filter((pid) => {
    const cmdline = read(`/proc/${pid}/cmdline`)?.split('\0') ?? []
    if (!cmdline.some((arg) => /opencode/.test(arg)) || !cmdline.includes('serve')) return false
    let cwd = ''
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`)
    } catch {
      // a zombie has no working folder
    }
    const home = read(`/proc/${pid}/environ`)?.split('\0').find((v) => v.startsWith('HOME=')) ?? ''
    return cwd.startsWith(`${dir}/`) || home.startsWith(`HOME=${dir}/`)
  })
}

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`

/** A process and everything it started that still runs: how many, and their resident memory together, in bytes. */
export function treeMemory(root: number): { processes: number; rssBytes: number } {
  const tree = [proc(root), ...descendants(root)].flatMap((p) => p ?? [])
  return { processes: tree.length, rssBytes: tree.reduce((sum, p) => sum + p.rssBytes, 0) }
}

/** The resident memory of each of these processes still alive, in bytes. */
export function rssOf(pidList: number[]): number[] {
  return pidList.flatMap((pid) => proc(pid)?.rssBytes ?? [])
}

/** The CPU time (user and system) these processes have used so far, in milliseconds. */
/** The CPU time (user and system) of a process and everything it started that still runs. */
export function treeCpuMs(root: number): number {
  const ticks = [proc(root), ...descendants(root)].reduce((sum, p) => sum + (p?.cpuTicks ?? 0), 0)
  return (ticks * 1000) / TICKS_PER_SECOND
}

export function cpuMsOf(pidList: number[]): number {
  return (pidList.reduce((sum, pid) => sum + (proc(pid)?.cpuTicks ?? 0), 0) * 1000) / TICKS_PER_SECOND
}

/** The CPU time (user and system) of this process's children that have exited and been waited for. */
export function exitedChildrenCpuMs(): number {
  const stat = read('/proc/self/stat') ?? ''
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // cutime and cstime, fields 16 and 17 of stat, the 14th and 15th after the name.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND
}

/** The whole machine's CPU time so far, busy and in all, in milliseconds summed over its cores (/proc/stat). */
export function machineCpuMs(): { busy: number; total: number } {
  const fields = (read('/proc/stat') ?? '').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((a, b) => a + b, 0)
  // idle and iowait are the fourth and fifth
  const busy = total - (fields[3] ?? 0) - (fields[4] ?? 0)
  return { busy: (busy * 1000) / TICKS_PER_SECOND, total: (total * 1000) / TICKS_PER_SECOND }
}
