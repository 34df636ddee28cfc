import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isIdle, readEvents, type Arrival } from './lib/sse'
import { call, endSession, lastEventId, script, type BenchStack } from './lib/stack'
import { median, ms, ratio, sleep } from './lib/stats'

/** Turns per repository, each editing a file and so making a checkpoint. */
export const CHECKPOINT_TURNS = 3
/** The large repository: this many files of 1 MiB of random bytes (git cannot compress them). */
export const LARGE_REPO_MIB = 200

export type CheckpointResult = {
  label: string
  /** from the turn's end (idle) to its checkpoint listed, p50 */
  saveMs: number
  /** a checkpoint's size (changes and the agent's record, compressed), p50 */
  bytes: number
  /** the first sandbox: from `provisioning` to `ready` / `started` (a fresh clone) */
  freshMs: number
  /** the replacement after a kill: from `provisioning` to `ready` / `restored` (the same clone, then the checkpoint) */
  restoredMs: number
  /** of which putting the checkpoint back: `restoring` to `restored` */
  restoreStepMs: number
}

/** A local repository with one commit: README only (`mib` 0), or `mib` files of random bytes too. */
export function checkpointRepo(mib: number): string {
  const repo = mkdtempSync(join(tmpdir(), 'osw-bench-checkpoint-'))
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd: repo })
  git('init', '--quiet', '--initial-branch=main')
  writeFileSync(join(repo, 'README.md'), '# bench\n')
  for (let i = 0; i < mib; i++) writeFileSync(join(repo, `blob-${i}.bin`), randomBytes(1024 * 1024))
  git('add', '.')
  git('commit', '--quiet', '-m', 'first')
  return repo
}

const at = (events: Arrival[], pick: (e: Arrival) => boolean) => events.find(pick)?.at ?? NaN
const step = (name: string) => (e: Arrival) => e.event === 'sandbox.status' && e.data.step === name

/**
 * A session on `repo`: CHECKPOINT_TURNS turns that each edit a file, each turn's checkpoint timed
 * from the turn's end; then its sandbox is killed, and the next message's replacement sandbox
 * (clone, then the checkpoint) timed against the first one (clone only).
 */
export async function checkpointBenchmark(stack: BenchStack, repo: string, label: string): Promise<CheckpointResult> {
  const { id } = await call(stack, '/v1/sessions', { repo: { url: repo, ref: 'main' }, snapshot: false, permissions: { bash: 'allow' } })
  try {
    const started = await readEvents(stack.url, id as string, { after: 0, done: isIdle, timeoutMs: 300_000 }).catch(async (err: unknown) => {
      const session = await call(stack, `/v1/sessions/${id}`)
      throw new Error(`${err instanceof Error ? err.message : String(err)}; the session is ${session.status}: ${JSON.stringify(session.error ?? null)}`)
    })
    const freshMs = at(started, step('started')) - at(started, step('provisioning'))
    const saves: number[] = []
    const sizes: number[] = []
    for (let i = 0; i < CHECKPOINT_TURNS; i++) {
      const after = await lastEventId(stack, id as string)
      const { messageId } = await call(stack, `/v1/sessions/${id}/messages`, {
        text: script({ steps: [{ tool: { name: 'bash', args: { command: `echo turn ${i} >> notes.txt`, description: 'edit' } } }, { text: `turn ${i}` }] }),
      })
      let replied = false
      const turn = await readEvents(stack.url, id as string, {
        after,
        done: (e) => {
          if (e.event === 'message.completed' && e.data.role === 'assistant' && e.data.parentId === messageId && e.data.text) replied = true
          return replied && isIdle(e)
        },
        timeoutMs: 120_000,
      })
      const ended = turn.at(-1)!.at
      for (;;) {
        const listed = (await call(stack, `/v1/sessions/${id}/checkpoints`)).checkpoints as { messageId: string; createdAt: string; sizeBytes: number }[]
        const saved = listed.find((c) => c.messageId === messageId)
        if (saved) {
          saves.push(Date.parse(saved.createdAt) - ended)
          sizes.push(saved.sizeBytes)
          break
        }
        await sleep(20)
      }
    }
    const before = await lastEventId(stack, id as string)
    const host = (path: string, method = 'GET') => fetch(`${stack.sandboxHostUrl}${path}`, { method, headers: { authorization: `Bearer ${stack.sandboxHostToken}` } })
    const listing = (await (await host('/sandboxes')).json()) as { sandboxId: string; metadata: Record<string, string> }[]
    const sandbox = listing.find((s) => s.metadata.sessionId === id)
    if (!sandbox) throw new Error('the session has no sandbox to kill')
    await host(`/sandboxes/${sandbox.sandboxId}`, 'DELETE')
    // Read from the loss itself: a read of the session in use (GET) may start its new sandbox at once.
    const [lostEvent] = await readEvents(stack.url, id as string, { after: before, done: (e) => e.event === 'sandbox.status' && e.data.state === 'lost', keep: () => false, timeoutMs: 120_000 })
    const lost = lostEvent!.id!
    await call(stack, `/v1/sessions/${id}/messages`, { text: script({ reply: 'back' }) })
    const back = await readEvents(stack.url, id as string, { after: lost, done: step('restored'), timeoutMs: 300_000 })
    return {
      label,
      saveMs: median(saves),
      bytes: median(sizes),
      freshMs,
      restoredMs: at(back, step('restored')) - at(back, step('provisioning')),
      restoreStepMs: at(back, step('restored')) - at(back, step('restoring')),
    }
  } finally {
    await endSession(stack, id as string)
  }
}

/** The rows of bench/RESULTS.md for one repository. */
export function checkpointRows(r: CheckpointResult): string[][] {
  const load = `${CHECKPOINT_TURNS} turns each appending a line, then the sandbox killed`
  return [
    [`checkpoint per turn: time after the turn's end, p50 (${r.label})`, 'WARM_POOL_SIZE=0', load, ms(r.saveMs), `${r.bytes} bytes (p50)`, ''],
    [`restore after a kill vs a fresh clone (${r.label})`, 'WARM_POOL_SIZE=0', load, `fresh ${ms(r.freshMs)}`, `restored ${ms(r.restoredMs)} (of it the checkpoint ${ms(r.restoreStepMs)})`, ratio(r.restoredMs, r.freshMs)],
  ]
}
