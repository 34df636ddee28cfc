import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { freePort } from '../../local/ports'
import { PROJECT_ROOT } from '../../local/stack'
import { reapSandboxes, recordedProcesses, rootOwner, sandboxOfEnviron, type RootOwner } from '../../local/sandbox-processes'
import {
  api,
  createSession,
  EventStream,
  GiveUp,
  processAlive,
  processesWith,
  processState,
  scripted,
  sendMessage,
  TEST_KEYS,
  useStack,
  waitFor,
  words,
} from '../helpers'

/**
 * No sandbox outlives `npm run dev`, however it ends (docs/local.md, "The local stack stopping"). Each case
 * runs `npm run dev` under a parent process as a tool would (test/faults/dev-parent.ts), with a
 * paused sandbox, one mid-turn and one starting, ends it one way, and looks for what is left:
 * the processes the sandbox host recorded, and any process whose working folder or HOME lies in
 * that dev's state folder.
 */

const PARENT = join(PROJECT_ROOT, 'test', 'faults', 'dev-parent.ts')

type Dev = { parent: ChildProcess; group: number; stateDir: string; root: string; url: string }

async function startDev(stateDir: string): Promise<Dev> {
  const [port, hostPort] = [await freePort(), await freePort()]
  const log = join(stateDir, `dev-${port}.log`)
  const parent = spawn(process.execPath, ['--import', 'tsx', PARENT, log], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      SANDBOX_HOST_PORT: String(hostPort),
      STATE_DIR: stateDir,
      API_KEYS: TEST_KEYS.join(','),
      // An idle sandbox pauses 3 s after its last activity.
      SESSION_IDLE_SECONDS: '3',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const line = await new Promise<string>((r) => createInterface({ input: parent.stdout! }).once('line', r))
  const url = `http://127.0.0.1:${port}`
  const dev = { parent, group: Number(line), stateDir, root: join(stateDir, 'sandboxes'), url }
  await waitFor(
    'npm run dev to be up',
    () => {
      const text = existsSync(log) ? readFileSync(log, 'utf8') : ''
      if (text.includes('could not start')) throw new GiveUp(text)
      return text.includes(`is up at ${url}`)
    },
    150_000,
  )
  useStack({ workerUrl: url, sandboxHostUrl: '', sandboxHostToken: '' })
  return dev
}

/** Every live process of the dev's sandboxes, by where it works or lives, whatever the host recorded. */
function sandboxProcesses(stateDir: string): { pid: number; state: string }[] {
  const found: { pid: number; state: string }[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    try {
      const inside = readlinkSync(`/proc/${pid}/cwd`).startsWith(`${stateDir}/`) || sandboxOfEnviron(readFileSync(`/proc/${pid}/environ`, 'latin1'), stateDir)
      const state = processState(pid)
      if (inside && state && state !== 'Z') found.push({ pid, state })
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return found
}

/** The processes in a process group (dev's: npm, tsx, the stack, wrangler, workerd). */
function groupMembers(group: number): number[] {
  return processesWith(2, group).filter(processAlive)
}

const owner = (dev: Dev): RootOwner => rootOwner(dev.root)!

/**
 * Sandboxes in the three states a stop can find them in: one paused (SIGSTOPped), one in the
 * middle of a turn, one just started for a session being created. Answers every process of
 * them, by the host's record and by /proc.
 */
async function startSandboxes(dev: Dev): Promise<number[]> {
  const [idle, busy] = await Promise.all([createSession(), createSession()])
  // Two opencode processes starting at once on a busy machine may take longer than the helpers' usual minute.
  for (const id of [idle, busy]) {
    await waitFor(`session ${id} to be idle`, async () => (await api(`/v1/sessions/${id}`)).body.status === 'idle', 180_000)
  }
  const stream = new EventStream(busy)
  await sendMessage(busy, scripted({ reply: words(3000, 'w'), delayMs: 30 }))
  // The first words of the reply: a busy machine may take minutes to get there.
  await stream.until((e) => e.event === 'message.delta', 180_000)
  await stream.close()
  await waitFor(`session ${idle}'s sandbox to pause`, () => sandboxProcesses(dev.stateDir).some((p) => p.state === 'T'))
  await createSession()
  await waitFor('the third session to start a sandbox process', () => new Set(recordedProcesses(dev.root).map((r) => r.sandboxId)).size >= 3)
  const pids = new Set([...recordedProcesses(dev.root).map((r) => r.pid), ...sandboxProcesses(dev.stateDir).map((p) => p.pid)])
  expect(pids.size).toBeGreaterThanOrEqual(3)
  return [...pids]
}

/** Once dev and its group have ended: nothing of its sandboxes is left, nor its watchdog. */
async function expectNothingLeft(dev: Dev, pids: number[], watchdogPid: number | undefined) {
  await waitFor('npm run dev and its whole process group to end', () => groupMembers(dev.group).length === 0)
  const left = await waitFor('every sandbox process to be gone', () => {
    const left = { recorded: pids.filter(processAlive), found: sandboxProcesses(dev.stateDir) }
    if (left.recorded.length || left.found.length) throw new Error(`still running: ${JSON.stringify(left)}`)
    return left
  })
  expect(left).toEqual({ recorded: [], found: [] })
  expect(recordedProcesses(dev.root).filter((r) => processAlive(r.pid))).toEqual([])
  if (watchdogPid !== undefined) await waitFor('the watchdog to end', () => !processAlive(watchdogPid))
}

/** Stops whatever a failed case left: the parent, dev's group, the watchdog, the sandboxes. */
function cleanUp(dev: Dev | undefined, stateDir: string) {
  if (dev) {
    dev.parent.kill('SIGKILL')
    for (const pid of groupMembers(dev.group)) process.kill(pid, 'SIGKILL')
    const watchdogPid = rootOwner(dev.root)?.watchdogPid
    if (watchdogPid && processAlive(watchdogPid)) process.kill(watchdogPid, 'SIGKILL')
    reapSandboxes(dev.root)
  }
  rmSync(stateDir, { recursive: true, force: true })
}

const newStateDir = () => realpathSync(mkdtempSync(join(tmpdir(), 'osw-orphans-')))

describe('stopping npm run dev leaves no sandbox running', () => {
  const ends: [string, (dev: Dev) => void][] = [
    ['Ctrl-C (SIGINT to its group)', (dev) => dev.parent.stdin!.write('SIGINT\n')],
    ['a hangup (SIGHUP to its group)', (dev) => dev.parent.stdin!.write('SIGHUP\n')],
    ['its parent exiting, no signal sent', (dev) => dev.parent.stdin!.write('exit\n')],
    ['SIGKILL of the dev process (its watchdog kills the sandboxes)', (dev) => process.kill(owner(dev).pid, 'SIGKILL')],
  ]
  it.each(ends)('%s', { timeout: 600_000 }, async (_, end) => {
    const stateDir = newStateDir()
    let dev: Dev | undefined
    try {
      dev = await startDev(stateDir)
      const pids = await startSandboxes(dev)
      const { watchdogPid } = owner(dev)
      end(dev)
      await expectNothingLeft(dev, pids, watchdogPid)
    } finally {
      cleanUp(dev, stateDir)
    }
  })

  // The next start stands in for SIGTERM's own: one start of `npm run dev` fewer.
  it('a dev process and its watchdog killed together: the next start on the same state kills what they left; SIGTERM to its group, its parent exiting at once, ends that one', { timeout: 900_000 }, async () => {
    const stateDir = newStateDir()
    let dev: Dev | undefined
    try {
      dev = await startDev(stateDir)
      const pids = await startSandboxes(dev)
      const { pid, watchdogPid } = owner(dev)
      process.kill(watchdogPid!, 'SIGKILL')
      process.kill(pid, 'SIGKILL')
      await waitFor('npm run dev and its whole process group to end', () => groupMembers(dev!.group).length === 0)
      // Nobody was left to kill them: they run on (a short command may have ended by itself), the paused one still stopped.
      const survivors = pids.filter(processAlive)
      expect(survivors.length).toBeGreaterThanOrEqual(2)
      expect(sandboxProcesses(stateDir).some((p) => p.state === 'T' && survivors.includes(p.pid))).toBe(true)
      dev.parent.stdin!.write('exit\n')

      dev = await startDev(stateDir)
      expect(survivors.filter(processAlive)).toEqual([])

      // As the issue measured it: the group told to stop, and nobody left to read its output.
      const more = await startSandboxes(dev)
      const { watchdogPid: again } = owner(dev)
      dev.parent.stdin!.write('SIGTERM\n')
      await expectNothingLeft(dev, more, again)
    } finally {
      cleanUp(dev, stateDir)
    }
  })
})
