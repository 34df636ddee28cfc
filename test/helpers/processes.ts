import { readdirSync, readFileSync } from 'node:fs'
import type { E2BStandIn, E2BStandInSandbox } from '../../local/e2b-standin'
import { sandboxHost } from './http'
import { waitFor } from './wait'

/** The fields of /proc/<pid>/stat after the name (state, parent, group, ...), or undefined once it is gone. */
export function processStat(pid: number): string[] | undefined {
  try {
    // The name in parentheses may hold spaces and parentheses itself: the fields follow the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** A process's state letter from /proc (R, S, T, Z, ...), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  return processStat(pid)?.[0]
}

/** Every process whose field `field` of processStat (1: its parent, 2: its group) is `value`. */
export function processesWith(field: 1 | 2, value: number): number[] {
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && Number(processStat(pid)?.[field]) === value)
}

/** Whether a process still runs; a zombie (ended, not yet reaped by its parent) does not. */
export function processAlive(pid: number): boolean {
  const state = processState(pid)
  return state !== undefined && state !== 'Z'
}

/** A sandbox as the local sandbox host lists it. */
export type SandboxListing = { sandboxId: string; metadata: Record<string, string>; workdir: string; opencodePid?: number }

/** Every sandbox of the local sandbox host. */
export async function hostSandboxes(): Promise<SandboxListing[]> {
  return (await (await sandboxHost('/sandboxes')).json()) as SandboxListing[]
}

/** The session's sandboxes on the local sandbox host (the stack's SANDBOX_PROVIDER=local). */
export async function sandboxesOf(sessionId: string): Promise<SandboxListing[]> {
  return (await hostSandboxes()).filter((s) => s.metadata.sessionId === sessionId)
}

/** The session's sandboxes in an E2B stand-in (the stack's SANDBOX_PROVIDER=e2b). */
export function standInSandboxesOf(standIn: E2BStandIn, sessionId: string): E2BStandInSandbox[] {
  return standIn.list().filter((s) => s.metadata.sessionId === sessionId)
}

/** Waits until process `pid` is in `state`: a signal takes effect a moment after it is sent. */
export function waitForProcessState(pid: number, state: string, timeoutMs?: number): Promise<string> {
  return waitFor(
    `process ${pid} to be in state ${state}`,
    () => {
      const now = processState(pid)
      if (now !== state) throw new Error(`process ${pid} is in state ${now ?? 'none (gone)'}`)
      return now
    },
    timeoutMs,
  )
}

// Apart, so that the benchmarks (which run without vitest) read it too.
export { gatewayTokenOf } from './gateway-token'
