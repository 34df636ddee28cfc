import type { Migration } from '../lib/migrations'

/**
 * A tenant index's SQLite schema (see src/lib/migrations.ts): its sessions, its limits
 * (limits.ts) and its usage (usage-store.ts). The first entry is what the object and those
 * modules made inline before migrations were recorded, unchanged since; IF NOT EXISTS lets an
 * index made then pass. `usage_days` has a column per usage field, written out as the fields
 * were then: a new field is a new migration.
 */
export const TENANT_MIGRATIONS: Migration[] = [
  {
    id: 1,
    description: 'sessions, creations and spend, usage by day and reports seen',
    sql: `
      CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, summary TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS sessions_newest ON sessions (created_at DESC, id DESC);
      CREATE TABLE IF NOT EXISTS creations (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS creations_at ON creations (at);
      CREATE TABLE IF NOT EXISTS spend (day TEXT PRIMARY KEY, cost REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS usage_days (
        day TEXT PRIMARY KEY,
        sessions REAL NOT NULL DEFAULT 0, runs REAL NOT NULL DEFAULT 0, turns REAL NOT NULL DEFAULT 0,
        running_seconds REAL NOT NULL DEFAULT 0, paused_seconds REAL NOT NULL DEFAULT 0,
        input_tokens REAL NOT NULL DEFAULT 0, output_tokens REAL NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS usage_seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS usage_seen_at ON usage_seen (at);
    `,
  },
  {
    id: 2,
    description: "the tenant's repository snapshots (snapshot-store.ts)",
    sql: `
      CREATE TABLE snapshots (
        id TEXT PRIMARY KEY, family TEXT NOT NULL, repo_url TEXT NOT NULL, ref TEXT, commit_sha TEXT NOT NULL,
        setup TEXT, size_bytes INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE INDEX snapshots_family ON snapshots (family, created_at DESC);
    `,
  },
  {
    id: 3,
    description: 'runs started in the last minute, for the run rate (limits.ts)',
    sql: `
      CREATE TABLE run_creations (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE INDEX run_creations_at ON run_creations (at);
    `,
  },
  {
    id: 4,
    description: 'model calls by day, provider and model, as the gateway metered them (usage-store.ts)',
    sql: `
      CREATE TABLE usage_models (
        day TEXT NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL,
        calls REAL NOT NULL DEFAULT 0, input_tokens REAL NOT NULL DEFAULT 0, output_tokens REAL NOT NULL DEFAULT 0,
        cache_read_tokens REAL NOT NULL DEFAULT 0, cache_write_tokens REAL NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (day, provider, model));
    `,
  },
  {
    id: 5,
    description: "calls in flight of all the tenant's sessions, held against its cost caps (reservations.ts); opencode's own figure by day, beside the metered one (usage-store.ts)",
    sql: `
      CREATE TABLE spend_reservations (id TEXT PRIMARY KEY, cost REAL NOT NULL, at INTEGER NOT NULL);
      ALTER TABLE usage_days ADD COLUMN opencode_input_tokens REAL NOT NULL DEFAULT 0;
      ALTER TABLE usage_days ADD COLUMN opencode_output_tokens REAL NOT NULL DEFAULT 0;
      ALTER TABLE usage_days ADD COLUMN opencode_cost REAL NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 6,
    description: 'the run each Slack thread of the tenant belongs to, for the replies there (slack-threads.ts)',
    sql: `
      CREATE TABLE slack_threads (seq INTEGER PRIMARY KEY, thread TEXT NOT NULL UNIQUE, run_id TEXT NOT NULL);
    `,
  },
]
