import { Sandbox, type ConnectionOpts } from 'e2b'
import { SandboxError, type WorkspaceSnapshots } from './provider'
import { runDetached } from './e2b-detached'

export type E2BSnapshotParts = {
  connection(): ConnectionOpts
  timeoutMs: number
  /** the provider's calls to E2B: its failures as SandboxError */
  attempt<T>(work: () => Promise<T>): Promise<T>
  /** the connected sandbox (connecting when this isolate has none) */
  sandbox(sandboxId: string): Promise<Sandbox>
  /** this isolate's connection to the sandbox is stale (paused) or new (connected again) */
  forget(sandboxId: string): void
  remember(sbx: Sandbox): void
  giveEnv(sandboxId: string, envs: Record<string, string>): Promise<void>
}

/** A process that is still there after a cold boot only if E2B kept memory after all; the mark tells it apart. */
const probe = (mark: string) => `sleep infinity # memory probe ${mark}`

/**
 * Repository snapshots on E2B: `Sandbox.createSnapshot` of the session's sandbox once its
 * workspace is prepared. E2B's snapshot holds the whole disk and the memory, so what is in them
 * matters: the session's env file and home files come only after it (sessionThingsLate), a
 * private repository's credentials file is overwritten before it is removed (thenForget), and
 * before the snapshot the sandbox is paused without memory and connected again, a cold boot that
 * leaves no process, no envd buffer and no page cache of what ran before (the clone's token
 * passed through them). A probe process started before the pause must be gone after it: a control
 * plane that ignores `keepMemory: false` (as older ones do, answering as if it had not) gets no
 * snapshot taken. E2B does not say how large a snapshot is: its size is recorded as 0.
 */
export function e2bSnapshots(p: E2BSnapshotParts): WorkspaceSnapshots {
  return {
    holds: 'disk',
    giveEnv: p.giveEnv,
    take: (sandboxId) => p.attempt(async () => {
      const before = await p.sandbox(sandboxId)
      // A pause without memory keeps the disk as a crash would: what is not written out is lost.
      await before.commands.run('sync')
      const mark = crypto.randomUUID()
      await runDetached(before, probe(mark))
      p.forget(sandboxId)
      await Sandbox.pause(sandboxId, { ...p.connection(), keepMemory: false })
      const booted = await Sandbox.connect(sandboxId, { ...p.connection(), timeoutMs: p.timeoutMs, onResume: 'reboot' })
      p.remember(booted)
      const kept = (await booted.commands.list()).find((proc) => [proc.cmd, ...proc.args].join(' ').includes(mark))
      if (kept) {
        await booted.commands.kill(kept.pid)
        throw new SandboxError('failed', 'E2B resumed the sandbox with its memory after a pause without it: no snapshot is taken')
      }
      const { snapshotId } = await Sandbox.createSnapshot(sandboxId, p.connection())
      // The sandbox is paused while E2B takes the snapshot; connect brings it back whichever way it was left.
      p.remember(await Sandbox.connect(sandboxId, { ...p.connection(), timeoutMs: p.timeoutMs }))
      return { snapshotId, sizeBytes: 0 }
    }),
    // false: not found, which counts as deleted
    delete: (snapshotId) => p.attempt(async () => void (await Sandbox.deleteSnapshot(snapshotId, p.connection()))),
  }
}
