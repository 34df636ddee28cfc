/**
 * A Durable Object's SQLite schema as an ordered list of migrations. Each runs once, in order,
 * and is recorded in the object's `_migrations` table, so a change is one new entry at the end
 * and an entry, once deployed, never changes. An entry only adds (tables, columns with a
 * default): during a rollout, or after a rollback, the release before runs on the schema the
 * new one made, and must find every table and column it knows.
 */
export type Migration = { id: number; description: string; sql: string }

/** Brings `sql` up to date with `migrations`; run in each object's constructor, before any query. */
export function migrate(sql: SqlStorage, migrations: readonly Migration[]) {
  sql.exec('CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, description TEXT NOT NULL)')
  const done = new Set(sql.exec<{ id: number }>('SELECT id FROM _migrations').toArray().map((r) => Number(r.id)))
  for (const m of migrations) {
    if (done.has(m.id)) continue
    sql.exec(m.sql)
    sql.exec('INSERT INTO _migrations (id, description) VALUES (?, ?)', m.id, m.description)
  }
}

/** An object's SQLite, brought up to date before its first query: how every object's constructor opens its storage. */
export function migratedSql(storage: DurableObjectStorage, migrations: readonly Migration[]): SqlStorage {
  migrate(storage.sql, migrations)
  return storage.sql
}
