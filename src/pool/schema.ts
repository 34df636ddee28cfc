import type { Migration } from '../lib/migrations'

/**
 * The warm pool's SQLite schema (see src/lib/migrations.ts). The first entry is what the object
 * made inline before migrations were recorded (`taken` and `origin` came later as tables of their
 * own, never as columns); IF NOT EXISTS lets a pool made then pass.
 */
export const POOL_MIGRATIONS: Migration[] = [
  {
    id: 1,
    description: 'warm sandboxes, who took them, where sandboxes reach the gateway',
    sql: `
      CREATE TABLE IF NOT EXISTS warm (
        sandbox_id TEXT PRIMARY KEY, record TEXT NOT NULL, fingerprint TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS taken (owner TEXT PRIMARY KEY, session_id TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS origin (id INTEGER PRIMARY KEY CHECK (id = 1), url TEXT NOT NULL);
    `,
  },
  {
    id: 2,
    description: 'repository warm pools (WARM_POOLS): their sandboxes, the commits pushes announced, their refill failures',
    sql: `
      CREATE TABLE repo_warm (
        sandbox_id TEXT PRIMARY KEY, pool TEXT NOT NULL, record TEXT NOT NULL, fingerprint TEXT NOT NULL,
        commit_sha TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE repo_head (pool TEXT PRIMARY KEY, commit_sha TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE repo_refill (pool TEXT PRIMARY KEY, state TEXT NOT NULL);
    `,
  },
  {
    id: 3,
    description: 'the random key gateway tokens are signed with when the deployment has no SECRETS_KEY',
    sql: `CREATE TABLE token_key (id INTEGER PRIMARY KEY CHECK (id = 1), value TEXT NOT NULL);`,
  },
  {
    id: 4,
    description: 'sandboxes being made for the pools, recorded the moment each exists (see pool-makes.ts)',
    sql: `CREATE TABLE making (sandbox_id TEXT PRIMARY KEY, pool TEXT NOT NULL, created_at INTEGER NOT NULL);`,
  },
]
