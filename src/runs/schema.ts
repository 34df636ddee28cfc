import type { Migration } from '../lib/migrations'

/**
 * A run's SQLite schema (see src/lib/migrations.ts). The first entry is what the object made
 * inline before migrations were recorded, unchanged since; IF NOT EXISTS lets runs made then pass.
 */
export const RUN_MIGRATIONS: Migration[] = [
  {
    id: 1,
    description: 'the run row',
    sql: `CREATE TABLE IF NOT EXISTS run (
      id TEXT PRIMARY KEY, tenant TEXT NOT NULL, session_id TEXT NOT NULL, status TEXT NOT NULL,
      request TEXT NOT NULL, github TEXT, result TEXT, error TEXT, reply TEXT,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deadline INTEGER NOT NULL, settle_at INTEGER,
      callback_state TEXT NOT NULL, callback_attempts TEXT NOT NULL, next_callback_at INTEGER)`,
  },
  { id: 2, description: 'what a run does on GitHub with its changes', sql: 'ALTER TABLE run ADD COLUMN pr TEXT' },
  { id: 3, description: "the comment a GitHub trigger got at once, edited with the result", sql: 'ALTER TABLE run ADD COLUMN comment_id INTEGER' },
  { id: 4, description: "the agent's structured answer, when the run asked for one (JSON)", sql: 'ALTER TABLE run ADD COLUMN structured TEXT' },
  { id: 5, description: "the tenant's own repository token for its pull request, sealed, until the run ends", sql: 'ALTER TABLE run ADD COLUMN repo_token TEXT' },
  { id: 6, description: 'the schedule whose firing started the run, told when it ends', sql: 'ALTER TABLE run ADD COLUMN schedule_id TEXT' },
  {
    id: 7,
    description: 'the Slack thread a run reports to, and its progress message there',
    sql: 'ALTER TABLE run ADD COLUMN slack TEXT; ALTER TABLE run ADD COLUMN slack_ts TEXT',
  },
  { id: 8, description: 'the permission the agent waits on a person for, asked where the run started', sql: 'ALTER TABLE run ADD COLUMN asked_permission TEXT' },
  { id: 9, description: "when the session of an ended Slack run, kept for a reply in its thread, is ended", sql: 'ALTER TABLE run ADD COLUMN session_kept_until INTEGER' },
]
