import { expiredSnapshots, type SnapshotPolicy, type SnapshotRow } from '../sandbox/snapshots'

type Row = {
  id: string
  family: string
  repo_url: string
  ref: string | null
  commit_sha: string
  setup: string | null
  size_bytes: number
  created_at: number
}

const toSnapshot = (r: Row): SnapshotRow => ({
  id: r.id,
  family: r.family,
  repoUrl: r.repo_url,
  ref: r.ref,
  commit: r.commit_sha,
  setup: r.setup,
  sizeBytes: r.size_bytes,
  createdAt: r.created_at,
})

/**
 * A tenant's repository snapshots in its index object's SQLite: which exist at the provider, for
 * which repository and commit. Only the tenant's own sessions read it, so no snapshot crosses tenants.
 */
export class SnapshotStore {
  constructor(private readonly sql: SqlStorage) {}

  list(family?: string): SnapshotRow[] {
    const rows = family
      ? this.sql.exec<Row>('SELECT * FROM snapshots WHERE family = ? ORDER BY created_at DESC', family)
      : this.sql.exec<Row>('SELECT * FROM snapshots ORDER BY created_at DESC')
    return rows.toArray().map(toSnapshot)
  }

  /** Records a new snapshot and forgets those retention removes; the caller deletes those at the provider. */
  add(snapshot: SnapshotRow, policy: SnapshotPolicy, now: number): SnapshotRow[] {
    this.sql.exec(
      'INSERT OR REPLACE INTO snapshots (id, family, repo_url, ref, commit_sha, setup, size_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      snapshot.id,
      snapshot.family,
      snapshot.repoUrl,
      snapshot.ref,
      snapshot.commit,
      snapshot.setup,
      snapshot.sizeBytes,
      snapshot.createdAt,
    )
    const expired = expiredSnapshots(this.list(), now, policy)
    for (const r of expired) this.sql.exec('DELETE FROM snapshots WHERE id = ?', r.id)
    return expired
  }

  remove(id: string): SnapshotRow | null {
    const row = this.sql.exec<Row>('DELETE FROM snapshots WHERE id = ? RETURNING *', id).toArray()[0]
    return row ? toSnapshot(row) : null
  }
}
