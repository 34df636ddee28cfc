import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { captureMemory, restoreMemory, type Memory } from './memory'
import type { CreateInput, Sandbox, Sandboxes } from './sandboxes'

const run = promisify(execFile)

/**
 * E2B's persistent snapshots (`createSnapshot`): a sandbox's whole disk (here: its home, the part
 * of the disk that is its own) and its memory (see memory.ts), kept after the sandbox ends, for
 * `Sandbox.create(snapshotId)` to start new sandboxes from. As on E2B, the memory is what the
 * sandbox held at that moment: taken after a cold boot (a pause without memory, then connect), it
 * holds nothing of what ran before.
 */
export type Snapshot = {
  /** `<template id>:<tag>`, as E2B names a snapshot without a name */
  id: string
  sourceId: string
  /** the home as the source's processes saw it; sandboxes made from the snapshot see theirs there */
  home: string
  /** the copy of the disk on the host */
  disk: string
  memory: Memory
  createdAt: Date
}

export class Snapshots {
  private readonly all = new Map<string, Snapshot>()

  constructor(
    private readonly root: string,
    private readonly sandboxes: Sandboxes,
  ) {}

  get(id: string): Snapshot | undefined {
    return this.all.get(id)
  }

  list(): Snapshot[] {
    return [...this.all.values()]
  }

  async take(sb: Sandbox): Promise<Snapshot> {
    const id = `snap${randomBytes(8).toString('hex')}:default`
    const disk = join(this.root, 'snapshots', id.split(':')[0]!)
    await mkdir(disk, { recursive: true })
    try {
      await run('cp', ['-a', '--reflink=auto', '--', `${sb.hostHome}/.`, disk])
    } catch (err) {
      await rm(disk, { recursive: true, force: true })
      throw err
    }
    const snapshot: Snapshot = { id, sourceId: sb.id, home: sb.home, disk, memory: captureMemory(sb), createdAt: new Date() }
    this.all.set(id, snapshot)
    return snapshot
  }

  /** A new sandbox with the snapshot's disk at the same paths, and its memory: envd's environment and the processes, running again. */
  async start(snapshot: Snapshot, input: CreateInput): Promise<Sandbox> {
    const sb = await this.sandboxes.createFrom({ ...input, envs: { ...snapshot.memory.envs, ...input.envs } }, snapshot.home, snapshot.disk)
    await restoreMemory(sb, snapshot.memory)
    return sb
  }

  /** false when there is no such snapshot */
  async delete(id: string): Promise<boolean> {
    const snapshot = this.all.get(id)
    if (!snapshot) return false
    this.all.delete(id)
    await rm(snapshot.disk, { recursive: true, force: true })
    return true
  }

  async closeAll() {
    await Promise.all(this.list().map((s) => this.delete(s.id)))
  }
}
