import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The local sandbox host's record of the processes it started, kept in its root folder beside
 * the sandboxes' folders, so that nothing it started outlives it: whoever finds the host gone
 * (its watchdog, or the next host on the same root after a crash) kills what the record names.
 *
 * A process is named by its pid and its start time (/proc/<pid>/stat, field 22): a pid the
 * kernel has since given to another process has another start time, and is left alone.
 */

/** Where the records live: a name no sandbox id takes (those are `sbx_…`). */
const RECORDS = '.processes'
/** Which host owns the root, and its watchdog. */
const OWNER = '.host'

/** What /proc/<pid>/stat says of a process that matters here. */
export type ProcStat = { state: string; startTime: string }

/** Parses /proc/<pid>/stat; the name in parentheses may hold spaces and parentheses itself, so fields count from the last ')'. */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')')
  if (close < 0) return undefined
  // After the name: state is field 3, start time field 22.
  const fields = text.slice(close + 2).trim().split(/\s+/)
  const state = fields[0]
  const startTime = fields[19]
  return state && startTime ? { state, startTime } : undefined
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return undefined
  }
}

/** A process as the record names it. */
export type ProcessRecord = { pid: number; startTime: string; sandboxId: string }

/** Whether `pid` is still the process the record names, and not yet dead (a zombie is). */
export function isRecordedProcess(record: Pick<ProcessRecord, 'startTime'>, now: ProcStat | undefined): boolean {
  return now !== undefined && now.state !== 'Z' && now.startTime === record.startTime
}

/** The sandbox a process belongs to, from its environment: every sandbox process is started with HOME inside its sandbox's folder. */
export function sandboxOfEnviron(environ: string, root: string): string | undefined {
  for (const entry of environ.split('\0')) {
    if (entry.startsWith(`HOME=${root}/`)) return entry.slice(`HOME=${root}/`.length).split('/')[0] || undefined
  }
  return undefined
}

/** Records a process the host just started, at once and synchronously, so that no shutdown can miss it. */
export function recordProcess(root: string, sandboxId: string, pid: number) {
  const stat = procStat(pid)
  if (!stat) return
  mkdirSync(join(root, RECORDS), { recursive: true })
  const record: ProcessRecord = { pid, startTime: stat.startTime, sandboxId }
  writeFileSync(join(root, RECORDS, String(pid)), JSON.stringify(record))
}

export function forgetProcess(root: string, pid: number) {
  rmSync(join(root, RECORDS, String(pid)), { force: true })
}

export function recordedProcesses(root: string): ProcessRecord[] {
  let names: string[]
  try {
    names = readdirSync(join(root, RECORDS))
  } catch {
    return []
  }
  const records: ProcessRecord[] = []
  for (const name of names) {
    try {
      records.push(JSON.parse(readFileSync(join(root, RECORDS, name), 'utf8')) as ProcessRecord)
    } catch {
      // written half by a host that died mid-write: its process gets caught by the sweep below
    }
  }
  return records
}

const signal = (pid: number, sig: NodeJS.Signals) => {
  try {
    process.kill(pid, sig)
  } catch {
    // gone already
  }
}

/**
 * Kills a process and its process group at once. SIGKILL, because a paused (SIGSTOPped)
 * sandbox acts on no other signal until it is continued, and SIGCONT first so that nothing
 * stopped lingers in the group for an instant it could spend on its own signal handlers.
 */
export function killGroup(pid: number) {
  signal(-pid, 'SIGCONT')
  signal(-pid, 'SIGKILL')
  signal(pid, 'SIGKILL')
}

/** Every live process whose environment places it in a sandbox under `root`, with that sandbox. */
export function sandboxProcessesUnder(root: string): { pid: number; sandboxId: string }[] {
  const found: { pid: number; sandboxId: string }[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid) || pid === process.pid) continue
    try {
      const sandboxId = sandboxOfEnviron(readFileSync(`/proc/${pid}/environ`, 'latin1'), root)
      if (sandboxId && procStat(pid)?.state !== 'Z') found.push({ pid, sandboxId })
    } catch {
      // gone, or not ours to read
    }
  }
  return found
}

/**
 * Kills every process of every sandbox under `root`: the recorded process groups (each
 * sandbox process leads its own, so its tools, LSPs and shells go with it), then any process
 * that left its group (a tool that called setsid) found by its environment. Synchronous, so
 * that it can run in a process's 'exit' handler. Answers how many processes it killed.
 */
export function reapSandboxes(root: string): number {
  let killed = 0
  for (const record of recordedProcesses(root)) {
    if (isRecordedProcess(record, procStat(record.pid))) {
      killGroup(record.pid)
      killed++
    }
    forgetProcess(root, record.pid)
  }
  for (const { pid } of sandboxProcessesUnder(root)) {
    killGroup(pid)
    killed++
  }
  return killed
}

/** The host that owns a root: one at a time, as two would share and reap each other's sandboxes. */
export type RootOwner = { pid: number; startTime: string; watchdogPid?: number }

export function rootOwner(root: string): RootOwner | undefined {
  try {
    return JSON.parse(readFileSync(join(root, OWNER), 'utf8')) as RootOwner
  } catch {
    return undefined
  }
}

/** Makes this process the owner of `root`, refusing when a live host owns it already. */
export function claimRoot(root: string): RootOwner {
  const owner = rootOwner(root)
  if (owner && owner.pid !== process.pid && isRecordedProcess(owner, procStat(owner.pid))) {
    throw new Error(`another sandbox host (pid ${owner.pid}) uses ${root}; stop it, or give this one another folder`)
  }
  const mine = { pid: process.pid, startTime: procStat(process.pid)!.startTime }
  writeOwner(root, mine)
  return mine
}

export function writeOwner(root: string, owner: RootOwner) {
  writeFileSync(join(root, OWNER), JSON.stringify(owner))
}

export function releaseRoot(root: string) {
  if (rootOwner(root)?.pid === process.pid) rmSync(join(root, OWNER), { force: true })
}
