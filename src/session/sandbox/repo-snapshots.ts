import type { SessionSpec } from '../../contracts'
import { tenantStub } from '../../durable-objects'
import type { Bindings } from '../../env'
import { errorMessage, log } from '../../lib/log'
import type { SandboxProvider } from '../../sandbox/provider'
import type { SnapshotOptions } from '../../sandbox/provision'
import { chooseSnapshot, formatAge, snapshotFamily, wantsSnapshot } from '../../sandbox/snapshots'
import type { Settings } from '../../config/settings'
import type { SessionSignals } from '../ports'
import type { SessionSecrets } from '../store/secrets'
import type { SessionStore } from '../store/session-store'

export type RepoSnapshotParts = {
  env: Bindings
  settings: Settings
  provider: SandboxProvider
  store: SessionStore
  signals: SessionSignals
}

/** What sandboxes are made from: a new snapshot is good only for sessions on the same image. */
const imageOf = (settings: Settings) => (settings.provider === 'e2b' ? `e2b:${settings.e2b.template}` : 'local')

/**
 * A session's part in its tenant's repository snapshots: which one its sandbox starts from, and
 * taking a new one once its workspace is prepared. A snapshot that cannot be read, taken or
 * recorded costs the session nothing but the speed: it starts, or goes on, as without one.
 */
export class RepoSnapshots {
  constructor(private readonly p: RepoSnapshotParts) {}

  async options(spec: SessionSpec, secrets: SessionSecrets): Promise<(SnapshotOptions & { ageMs?: number }) | undefined> {
    const { settings, provider, store } = this.p
    const snapshots = provider.snapshots
    if (!snapshots || !spec.repo || !wantsSnapshot(spec, secrets.env, settings.snapshots)) return undefined
    const tenant = tenantStub(this.p.env, store.row.tenant)
    const family = await snapshotFamily(store.row.tenant, spec, imageOf(settings))
    const rows = await tenant.snapshots(family).catch((err: unknown) => {
      log('warn', 'snapshots unavailable', { err: errorMessage(err) })
      return []
    })
    const now = Date.now()
    const chosen = chooseSnapshot(rows, spec.repo.ref, now, settings.snapshots.maxAgeMs)
    if (!chosen && rows.length > 0) this.p.signals.sandboxState('starting', 'snapshot_too_old')
    const repo = spec.repo
    return {
      ...(chosen && { from: { snapshotId: chosen.id, commit: chosen.commit }, ageMs: now - chosen.createdAt }),
      save: async (sandboxId, commit) => {
        try {
          const taken = await snapshots.take(sandboxId)
          const expired = await tenant.addSnapshot(
            { id: taken.snapshotId, family, repoUrl: repo.url, ref: repo.ref ?? null, commit, setup: spec.setup ?? null, sizeBytes: taken.sizeBytes, createdAt: Date.now() },
            settings.snapshots,
          )
          for (const old of expired) await snapshots.delete(old.id)
        } catch (err) {
          log('warn', 'snapshot not taken', { sessionId: store.row.id, err: errorMessage(err) })
        }
      },
    }
  }

  /** How old the snapshot a session starts from is, as its clients are told. */
  static age(ageMs: number): string {
    return `${formatAge(ageMs)} old`
  }
}
