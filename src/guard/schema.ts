import type { Migration } from '../lib/migrations'

/**
 * The webhook guard's SQLite schema (see src/lib/migrations.ts). The first entry is what the
 * object made inline before migrations were recorded; IF NOT EXISTS lets guards made then pass.
 */
export const GUARD_MIGRATIONS: Migration[] = [
  {
    id: 1,
    description: 'signatures seen, keys admitted',
    sql: `
      CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS admitted (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
    `,
  },
]
