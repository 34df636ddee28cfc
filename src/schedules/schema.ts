import type { Migration } from '../lib/migrations'

/** A tenant's schedules' SQLite schema (see src/lib/migrations.ts). */
export const SCHEDULE_MIGRATIONS: Migration[] = [
  {
    id: 1,
    description: 'schedules and their firings',
    sql: `
      CREATE TABLE schedules (
        id TEXT PRIMARY KEY, tenant TEXT NOT NULL, cron TEXT NOT NULL, timezone TEXT NOT NULL,
        run TEXT NOT NULL, secrets TEXT, gateway_url TEXT NOT NULL,
        state TEXT NOT NULL, paused_reason TEXT, next_at INTEGER, last_fired_at INTEGER,
        failures INTEGER NOT NULL DEFAULT 0, open_run TEXT,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE INDEX schedules_next ON schedules (next_at) WHERE state = 'active';
      CREATE TABLE firings (
        run_id TEXT PRIMARY KEY, schedule_id TEXT NOT NULL, fired_at INTEGER NOT NULL, status TEXT NOT NULL, error TEXT);
      CREATE INDEX firings_newest ON firings (schedule_id, fired_at DESC);
    `,
  },
]
