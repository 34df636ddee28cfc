import type { Checkpoint } from '../../contracts'

export type CheckpointRow = {
  n: number
  message_id: string | null
  created_at: string
  patch_bytes: number
  agent_bytes: number
  files_changed: number
  /** the commit the workspace's changes are measured from */
  base_commit: string
  /** the agent's session the record is of: opencode keeps its id when it takes the record back */
  agent_session_id: string
  /** of the changes and the record as they were, to tell a checkpoint that holds nothing new */
  digest: string
}

/** The session's checkpoints as its SQLite lists them; their contents are in R2 (./checkpoints). */
export class CheckpointStore {
  constructor(private readonly sql: SqlStorage) {}

  latest(): CheckpointRow | undefined {
    return this.sql.exec<CheckpointRow>('SELECT * FROM checkpoints ORDER BY n DESC LIMIT 1').toArray()[0]
  }

  get(n: number): CheckpointRow | undefined {
    return this.sql.exec<CheckpointRow>('SELECT * FROM checkpoints WHERE n = ?', n).toArray()[0]
  }

  numbers(): number[] {
    return this.sql
      .exec<{ n: number }>('SELECT n FROM checkpoints')
      .toArray()
      .map((r) => r.n)
  }

  add(row: CheckpointRow) {
    this.sql.exec(
      `INSERT INTO checkpoints (n, message_id, created_at, patch_bytes, agent_bytes, files_changed, base_commit, agent_session_id, digest)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.n,
      row.message_id,
      row.created_at,
      row.patch_bytes,
      row.agent_bytes,
      row.files_changed,
      row.base_commit,
      row.agent_session_id,
      row.digest,
    )
  }

  remove(n: number) {
    this.sql.exec('DELETE FROM checkpoints WHERE n = ?', n)
  }

  clear() {
    this.sql.exec('DELETE FROM checkpoints')
  }

  list(): Checkpoint[] {
    return this.sql
      .exec<CheckpointRow>('SELECT * FROM checkpoints ORDER BY n')
      .toArray()
      .map((r) => ({ checkpoint: r.n, messageId: r.message_id, createdAt: r.created_at, sizeBytes: r.patch_bytes + r.agent_bytes, filesChanged: r.files_changed }))
  }
}
