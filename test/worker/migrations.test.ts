import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { migrate, type Migration } from '../../src/lib/migrations'
import { GUARD_MIGRATIONS } from '../../src/guard/schema'
import { RUN_MIGRATIONS } from '../../src/runs/schema'
import { POOL_MIGRATIONS } from '../../src/pool/schema'
import { Conversation } from '../../src/session/turns/conversation'
import { SessionDO } from '../../src/session/durable-object'
import { MIGRATIONS as SESSION_MIGRATIONS } from '../../src/session/store/schema'
import { TENANT_MIGRATIONS } from '../../src/tenant/schema'

/**
 * Inside workerd, on each Durable Object's real SQLite: its migrations make a fresh object's
 * tables, run again change nothing, and take over an object made by the code before them.
 */

type Stub = Parameters<typeof runInDurableObject>[0]

/**
 * Each object as the code before recorded migrations left it: the statements it ran inline on
 * every start (from git history), and a row to be kept. A session had its own migrations 1-5;
 * only the usage meter was made inline.
 */
const OBJECTS: { name: string; stub: (key: string) => Stub; migrations: Migration[]; old: (sql: SqlStorage) => void; row: string }[] = [
  {
    name: 'RunDO',
    stub: (key) => env.RUNS.get(env.RUNS.idFromName(key)),
    migrations: RUN_MIGRATIONS,
    old: (sql) => {
      sql.exec(`CREATE TABLE IF NOT EXISTS run (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, session_id TEXT NOT NULL, status TEXT NOT NULL, request TEXT NOT NULL, github TEXT, result TEXT, error TEXT, reply TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deadline INTEGER NOT NULL, settle_at INTEGER, callback_state TEXT NOT NULL, callback_attempts TEXT NOT NULL, next_callback_at INTEGER)`)
      sql.exec(`INSERT INTO run VALUES ('run_1', 't', 'ses_1', 'queued', '{}', NULL, NULL, NULL, NULL, 'a', 'b', 1, NULL, 'none', '[]', NULL)`)
    },
    row: `SELECT id FROM run`,
  },
  {
    name: 'WebhookGuard',
    stub: (key) => env.WEBHOOK_GUARD.get(env.WEBHOOK_GUARD.idFromName(key)),
    migrations: GUARD_MIGRATIONS,
    old: (sql) => {
      sql.exec('CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)')
      sql.exec('CREATE TABLE IF NOT EXISTS admitted (key TEXT PRIMARY KEY, at INTEGER NOT NULL)')
      sql.exec(`INSERT INTO seen VALUES ('sha256=aa', 1)`)
    },
    row: 'SELECT key AS id FROM seen',
  },
  {
    name: 'SandboxPool',
    stub: (key) => env.POOL.get(env.POOL.idFromName(key)),
    migrations: POOL_MIGRATIONS,
    old: (sql) => {
      sql.exec(`CREATE TABLE IF NOT EXISTS warm (sandbox_id TEXT PRIMARY KEY, record TEXT NOT NULL, fingerprint TEXT NOT NULL, created_at INTEGER NOT NULL)`)
      sql.exec('CREATE TABLE IF NOT EXISTS taken (owner TEXT PRIMARY KEY, session_id TEXT NOT NULL)')
      sql.exec('CREATE TABLE IF NOT EXISTS origin (id INTEGER PRIMARY KEY CHECK (id = 1), url TEXT NOT NULL)')
      sql.exec(`INSERT INTO warm VALUES ('sbx_1', '{}', 'f', 1)`)
    },
    row: 'SELECT sandbox_id AS id FROM warm',
  },
  {
    name: 'TenantIndex',
    stub: (key) => env.TENANTS.get(env.TENANTS.idFromName(key)),
    migrations: TENANT_MIGRATIONS,
    old: (sql) => {
      sql.exec(`CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, summary TEXT NOT NULL)`)
      sql.exec('CREATE INDEX IF NOT EXISTS sessions_newest ON sessions (created_at DESC, id DESC)')
      sql.exec('CREATE TABLE IF NOT EXISTS creations (id TEXT PRIMARY KEY, at INTEGER NOT NULL)')
      sql.exec('CREATE INDEX IF NOT EXISTS creations_at ON creations (at)')
      sql.exec('CREATE TABLE IF NOT EXISTS spend (day TEXT PRIMARY KEY, cost REAL NOT NULL)')
      const columns = ['sessions', 'runs', 'turns', 'running_seconds', 'paused_seconds', 'input_tokens', 'output_tokens', 'cost']
      sql.exec(`CREATE TABLE IF NOT EXISTS usage_days (day TEXT PRIMARY KEY, ${columns.map((c) => `${c} REAL NOT NULL DEFAULT 0`).join(', ')})`)
      sql.exec('CREATE TABLE IF NOT EXISTS usage_seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL)')
      sql.exec('CREATE INDEX IF NOT EXISTS usage_seen_at ON usage_seen (at)')
      sql.exec(`INSERT INTO sessions VALUES ('ses_1', 'a', '{}')`)
    },
    row: 'SELECT id FROM sessions',
  },
  {
    name: 'SessionDO',
    stub: (key) => env.SESSIONS.get(env.SESSIONS.idFromName(key)),
    migrations: SESSION_MIGRATIONS,
    old: (sql) => {
      migrate(sql, SESSION_MIGRATIONS.filter((m) => m.id <= 5))
      sql.exec('CREATE TABLE IF NOT EXISTS usage_meter (one INTEGER PRIMARY KEY CHECK (one = 0), mode TEXT, since INTEGER NOT NULL)')
      sql.exec(`INSERT INTO usage_meter VALUES (0, 'running', 1)`)
    },
    row: `SELECT mode AS id FROM usage_meter`,
  },
]

/** Every table and index with its columns, as SQLite describes them: what two ways of making a schema must agree on. */
function schemaOf(sql: SqlStorage) {
  const objects = sql
    .exec<{ type: string; name: string }>(
      `SELECT type, name FROM sqlite_master WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`,
    )
    .toArray()
  return objects.map(({ type, name }) => ({
    type,
    name,
    columns: sql.exec(type === 'table' ? `PRAGMA table_info("${name}")` : `PRAGMA index_info("${name}")`).toArray(),
  }))
}

/** Empties an object's SQLite of everything its schema made. */
function dropAll(sql: SqlStorage) {
  for (const { type, name } of schemaOf(sql)) if (type === 'table') sql.exec(`DROP TABLE "${name}"`)
}

const recorded = (sql: SqlStorage) => sql.exec<{ id: number }>('SELECT id FROM _migrations ORDER BY id').toArray().map((r) => Number(r.id))

describe.each(OBJECTS)('$name migrations', ({ name, stub, migrations, old, row }) => {
  const ids = migrations.map((m) => m.id)

  it('make a fresh object its tables, and run again change nothing', async () => {
    await runInDurableObject(stub(`migrations-${name}-fresh`), async (_instance, state) => {
      const sql = state.storage.sql
      expect(recorded(sql)).toEqual(ids)
      const made = schemaOf(sql)
      expect(made.filter((o) => o.type === 'table').length).toBeGreaterThan(1)
      migrate(sql, migrations)
      migrate(sql, migrations)
      expect(recorded(sql)).toEqual(ids)
      expect(schemaOf(sql)).toEqual(made)
    })
  })

  it('take over an object made by the code before them, keeping its rows', async () => {
    await runInDurableObject(stub(`migrations-${name}-old`), async (_instance, state) => {
      const sql = state.storage.sql
      const fresh = schemaOf(sql)
      dropAll(sql)
      old(sql)
      const before = sql.exec(row).toArray()
      expect(before).toHaveLength(1)
      migrate(sql, migrations)
      expect(recorded(sql)).toEqual(ids)
      expect(schemaOf(sql)).toEqual(fresh)
      expect(sql.exec(row).toArray()).toEqual(before)
    })
  })
})

/**
 * A rollout (README, "Deploying safely"): an object the release before wrote, at that release's
 * schema (every migration but the newest), meets the new code at its next start. Its migrations
 * run, it answers the RPC the Worker calls with the rows as they were written, and a row the new
 * code writes stays readable by the release before, which a rollback hands the object back to.
 */
describe('a session object of the release before', () => {
  const TENANT = 't_00000000000000000000000000000000'
  const stub = env.SESSIONS.get(env.SESSIONS.idFromName('migrations-previous-release'))
  const previous = SESSION_MIGRATIONS.slice(0, -1)
  /** The object as the runtime starts it after a deploy: the new code's constructor over the storage as it stands. */
  const started = (state: DurableObjectState) => new SessionDO(state, env)
  const user = { id: 'msg_1', role: 'user', text: 'hello', parts: [{ type: 'text', text: 'hello' }], createdAt: '2026-01-01T00:00:00.000Z' }
  const reply = { id: 'msg_a1', role: 'assistant', text: 'hi', parts: [{ type: 'text', text: 'hi' }], createdAt: '2026-01-01T00:00:01.000Z' }

  it('answers the new code with its rows as the release before wrote them', async () => {
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = state.storage.sql
      dropAll(sql)
      migrate(sql, previous)
      expect(recorded(sql)).toEqual(previous.map((m) => m.id))
      // The statements the release before ran to write these rows.
      sql.exec(
        `INSERT INTO session (id, tenant, status, title, spec, created_at, updated_at, expires_at) VALUES ('ses_old', ?, 'idle', NULL, '{}', 'a', 'a', '2999-01-01T00:00:00.000Z')`,
        TENANT,
      )
      for (const [m, turn] of [[user, 1], [reply, 1]] as const) {
        sql.exec('INSERT INTO messages (id, turn, role, text, parts, created_at) VALUES (?, ?, ?, ?, ?, ?)', m.id, turn, m.role, m.text, JSON.stringify(m.parts), m.createdAt)
      }
    })
    await runInDurableObject(stub, async (_instance, state) => {
      const session = started(state)
      expect(recorded(state.storage.sql)).toEqual(SESSION_MIGRATIONS.map((m) => m.id))
      expect(await session.messages(TENANT)).toEqual({ ok: true, value: [user, reply] })
    })
  })

  it('writes a message too large for a row so that the new code reads it whole and the release before reads its start', async () => {
    const text = '長'.repeat(400_000)
    const large = { id: 'msg_a2', role: 'assistant', text, parts: [{ type: 'text', text }], createdAt: '2026-01-01T00:00:02.000Z' }
    await runInDurableObject(stub, async (_instance, state) => {
      const sql = state.storage.sql
      new Conversation(sql).recordAssistant(large.id, 2, text, large.parts)
      sql.exec('UPDATE messages SET created_at = ? WHERE id = ?', large.createdAt, large.id)
      // The release before's own read: its row's text and parts, parts as JSON.
      const row = sql.exec<{ text: string; parts: string }>('SELECT text, parts FROM messages WHERE id = ?', large.id).one()
      expect(text.startsWith(row.text) && row.text.length > 0).toBe(true)
      expect(JSON.parse(row.parts)).toEqual([])
      expect(await started(state).messages(TENANT)).toEqual({ ok: true, value: [user, reply, large] })
    })
  })
})
