import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { waitForProcessState } from '../test/helpers/processes'
import { waitFor } from '../test/helpers/wait'
import {
  claimRoot,
  isRecordedProcess,
  parseStat,
  procStat,
  reapSandboxes,
  recordedProcesses,
  recordProcess,
  releaseRoot,
  sandboxOfEnviron,
  sandboxProcessesUnder,
  writeOwner,
} from './sandbox-processes'

describe("the sandbox host's process record", () => {
  it('reads state and start time past a name holding spaces and parentheses', () => {
    const stat = '4242 (opencode (x) y) T 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 12 0 987654 123456 789 18446744073709551615'
    expect(parseStat(stat)).toEqual({ state: 'T', startTime: '987654' })
    expect(parseStat('garbage')).toBeUndefined()
  })

  it('knows a recorded process by its start time, so a reused pid is not killed, and a zombie is dead', () => {
    expect(isRecordedProcess({ startTime: '100' }, { state: 'S', startTime: '100' })).toBe(true)
    expect(isRecordedProcess({ startTime: '100' }, { state: 'S', startTime: '250' })).toBe(false)
    expect(isRecordedProcess({ startTime: '100' }, { state: 'Z', startTime: '100' })).toBe(false)
    expect(isRecordedProcess({ startTime: '100' }, undefined)).toBe(false)
  })

  it("places a process in a sandbox by the HOME it was started with, under this root only", () => {
    const environ = ['PATH=/bin', 'HOME=/data/sandboxes/sbx_ab12/home', 'X=1'].join('\0')
    expect(sandboxOfEnviron(environ, '/data/sandboxes')).toBe('sbx_ab12')
    expect(sandboxOfEnviron(environ, '/data/sandbox')).toBeUndefined()
    expect(sandboxOfEnviron('HOME=/root', '/data/sandboxes')).toBeUndefined()
  })
})

describe('reaping the sandboxes a dead host left', () => {
  it('kills recorded process groups, stopped ones too, and processes that left their group, and nothing else', async () => {
    const root = await mkdtemp(join(tmpdir(), 'osw-reap-'))
    const home = join(root, 'sbx_test', 'home')
    const env = { PATH: process.env.PATH, HOME: home }
    // A sandbox process with a child in its group, and one that left for a session of its own.
    const leader = spawn('bash', ['-c', 'sleep 300 & setsid sleep 301 & wait'], { env, detached: true, stdio: 'ignore' })
    const bystander = spawn('sleep', ['302'], { detached: true, stdio: 'ignore' })
    try {
      recordProcess(root, 'sbx_test', leader.pid!)
      // A record whose pid now names another process: the bystander, with another start time.
      writeFileSync(join(root, '.processes', String(bystander.pid)), JSON.stringify({ pid: bystander.pid, startTime: '1', sandboxId: 'sbx_old' }))
      await waitFor('the sandbox and its two sleeps to start', () => sandboxProcessesUnder(root).length === 3)
      process.kill(-leader.pid!, 'SIGSTOP')
      await waitForProcessState(leader.pid!, 'T')
      const exited = new Promise((r) => leader.once('exit', r))

      expect(reapSandboxes(root)).toBeGreaterThanOrEqual(2)
      await exited
      expect(recordedProcesses(root)).toEqual([])
      expect(procStat(bystander.pid!)?.state).toMatch(/[SR]/)
      expect(await waitFor('every process of the sandbox to be gone', () => sandboxProcessesUnder(root).length === 0)).toBe(true)
    } finally {
      bystander.kill('SIGKILL')
      try {
        process.kill(-leader.pid!, 'SIGKILL')
      } catch {
        // reaped
      }
      await rm(root, { recursive: true, force: true })
    }
  })

  it('lets one live host own a root at a time', async () => {
    const root = await mkdtemp(join(tmpdir(), 'osw-owner-'))
    try {
      // Another live process (this one's parent) as the owner.
      writeOwner(root, { pid: process.ppid, startTime: procStat(process.ppid)!.startTime })
      expect(() => claimRoot(root)).toThrow(/another sandbox host/)
      // The same pid with another start time: a dead owner whose pid was reused.
      writeOwner(root, { pid: process.ppid, startTime: '1' })
      expect(claimRoot(root).pid).toBe(process.pid)
      releaseRoot(root)
      expect(claimRoot(root).pid).toBe(process.pid)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
