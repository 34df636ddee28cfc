import { readFileSync, readlinkSync } from 'node:fs'
import { pidsInNamespace } from './network'
import type { Sandbox } from './sandboxes'

/**
 * A sandbox's memory, modelled by what could leak through it when E2B snapshots a sandbox with
 * its memory (`createSnapshot`, a pause that keeps memory): the processes that run (command line,
 * environment, folder), the create-time environment envd keeps, and the files written through
 * envd since the sandbox booted (its buffers and the page cache hold them, removed or not). A
 * sandbox made from such a snapshot runs those processes again and holds those files in memory,
 * so a secret a snapshot kept shows in the new sandbox's `ps` and `/proc/*\/environ`, and in the
 * stand-in's record of the snapshot. A cold boot (a pause without memory) leaves none of it.
 */
export type Memory = { envs: Record<string, string>; processes: ProcessImage[]; files: Record<string, string> }

export type ProcessImage = { args: string[]; env: Record<string, string>; cwd: string }

/** How much of each written file memory is said to keep: enough for any credential. */
const KEPT_BYTES = 64 * 1024

function image(pid: number): ProcessImage | undefined {
  try {
    const split = (file: string) => readFileSync(`/proc/${pid}/${file}`, 'latin1').split('\0').filter(Boolean)
    const env = Object.fromEntries(split('environ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
    return { args: split('cmdline'), env, cwd: readlinkSync(`/proc/${pid}/cwd`) }
  } catch {
    // ended while we looked
    return undefined
  }
}

/**
 * The sandbox's processes, its anchor aside: all in its namespace, and those envd just started
 * (nsenter may not have joined the namespace yet).
 */
export function sandboxPids(sb: Sandbox): number[] {
  const inside = pidsInNamespace(sb.ns.netns).filter((pid) => pid !== sb.ns.pid)
  return [...new Set([...sb.processes.list().map((p) => p.pid), ...inside])]
}

export function captureMemory(sb: Sandbox): Memory {
  const processes = sandboxPids(sb).flatMap((pid) => image(pid) ?? [])
  return { envs: { ...sb.envs }, processes, files: Object.fromEntries(sb.written) }
}

/** A file envd wrote stays in memory until the next cold boot. */
export function rememberWrite(sb: Sandbox, path: string) {
  try {
    sb.written.set(path, readFileSync(path).subarray(0, KEPT_BYTES).toString('latin1'))
  } catch {
    // gone already: nothing to keep
  }
}

/** The processes of `memory` run again in `sb`, in its namespaces, as restoring a memory image resumes them. */
export async function restoreMemory(sb: Sandbox, memory: Memory) {
  for (const [path, content] of Object.entries(memory.files)) sb.written.set(path, content)
  for (const p of memory.processes) {
    if (p.args.length === 0) continue
    await sb.processes
      .start({
        config: { cmd: p.args[0]!, args: p.args.slice(1) },
        cwd: p.cwd,
        env: p.env,
        stdin: false,
        netns: `/proc/${sb.ns.pid}/ns/net`,
        mountns: sb.ns.mountns,
      })
      .catch(() => undefined)
  }
}

/**
 * Ends every process of the sandbox and forgets what envd wrote: what a cold boot leaves of
 * memory. A process may fork while we look, so it looks again until the namespace is empty.
 */
export async function dropMemory(sb: Sandbox) {
  sb.written.clear()
  // A killed process still runs while the kernel tears it down (longer on a loaded machine), and
  // envd's table lists it until its exit has been read: the pause answers once neither knows of
  // one, as nothing runs (or is listed) in a paused sandbox.
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    for (const p of sb.processes.list()) p.signal('SIGKILL')
    const pids = pidsInNamespace(sb.ns.netns).filter((pid) => pid !== sb.ns.pid)
    if (pids.length === 0 && sb.processes.list().length === 0) break
    for (const pid of pids) signal(pid, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 20))
  }
}

export function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}
