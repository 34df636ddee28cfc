import { migrate as runMigrations, type Migration } from '../../lib/migrations'

/** A session's SQLite schema (see src/lib/migrations.ts). */
export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    description: 'session row, event log, message queue, conversation',
    sql: `
      CREATE TABLE session (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        status TEXT NOT NULL,
        title TEXT,
        spec TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost REAL NOT NULL DEFAULT 0,
        sandbox TEXT,
        agent_session_id TEXT,
        failure TEXT
      );
      CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL);
      CREATE TABLE queue (
        pos INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        text TEXT NOT NULL,
        model TEXT,
        agent TEXT,
        idempotency_key TEXT UNIQUE,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX queue_state ON queue (state, pos);
      CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        turn INTEGER NOT NULL,
        role TEXT NOT NULL,
        text TEXT NOT NULL,
        parts TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX messages_order ON messages (turn, role DESC, created_at);
    `,
  },
  {
    id: 2,
    description: 'requests waiting on a human',
    sql: `CREATE TABLE pending (id TEXT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL, deadline INTEGER NOT NULL);`,
  },
  {
    id: 3,
    description: "opencode's id for each of our user messages",
    sql: `ALTER TABLE queue ADD COLUMN agent_message_id TEXT;`,
  },
  {
    id: 4,
    description: 'secrets apart from the spec, so no view of the session can include them',
    sql: `ALTER TABLE session ADD COLUMN secrets TEXT;`,
  },
  {
    id: 5,
    description: "the model gateway: the sandbox's token digest, what its calls used, whether the budget is spent",
    sql: `
      ALTER TABLE session ADD COLUMN gateway_digest TEXT;
      ALTER TABLE session ADD COLUMN gw_input_tokens INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE session ADD COLUMN gw_output_tokens INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE session ADD COLUMN gw_cost REAL NOT NULL DEFAULT 0;
      ALTER TABLE session ADD COLUMN spend_reported REAL NOT NULL DEFAULT 0;
      ALTER TABLE session ADD COLUMN budget_exceeded TEXT;
    `,
  },
  {
    id: 6,
    // Made inline by src/session/usage/report.ts before it was listed here: sessions may have it.
    description: "the usage meter: the sandbox's mode and since when",
    sql: `CREATE TABLE IF NOT EXISTS usage_meter (one INTEGER PRIMARY KEY CHECK (one = 0), mode TEXT, since INTEGER NOT NULL);`,
  },
  {
    id: 7,
    description: "each message's outcome, for a repeated send to answer at once; when the session ended, for its retention",
    sql: `
      ALTER TABLE queue ADD COLUMN outcome TEXT;
      ALTER TABLE session ADD COLUMN ended_at TEXT;
    `,
  },
  {
    id: 8,
    description: "the agent's todo list; an undo that can still be taken back, and the messages it took out of the conversation",
    sql: `
      ALTER TABLE session ADD COLUMN todos TEXT;
      ALTER TABLE session ADD COLUMN revert TEXT;
      ALTER TABLE messages ADD COLUMN reverted INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 9,
    description: "messages' files until they reach the agent, in chunks under the 2 MB row limit; steered messages run first",
    sql: `
      CREATE TABLE attachments (
        message_id TEXT NOT NULL,
        file INTEGER NOT NULL,
        chunk INTEGER NOT NULL,
        filename TEXT NOT NULL,
        mime TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (message_id, file, chunk)
      );
      ALTER TABLE queue ADD COLUMN steer INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 10,
    description: "a message's own outputSchema (JSON): its answer must match it",
    sql: 'ALTER TABLE queue ADD COLUMN output_schema TEXT',
  },
  {
    id: 11,
    description: "the event log's size in bytes, kept with each store so that its bound costs no scan",
    sql: `
      CREATE TABLE event_log_size (one INTEGER PRIMARY KEY CHECK (one = 0), bytes INTEGER NOT NULL);
      INSERT INTO event_log_size (one, bytes) SELECT 0, COALESCE(SUM(length(CAST(data AS BLOB))), 0) FROM events;
    `,
  },
  {
    id: 12,
    description: "model calls in flight and what each is reserved for, until settled (src/session/gateway/reservations.ts)",
    sql: 'CREATE TABLE gateway_reservations (id TEXT PRIMARY KEY, cost REAL NOT NULL, output_tokens INTEGER NOT NULL, at INTEGER NOT NULL)',
  },
  {
    id: 13,
    description: "usage reports until the tenant's index acknowledges them (src/session/usage/report.ts)",
    sql: 'CREATE TABLE usage_outbox (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, report TEXT NOT NULL)',
  },
  {
    id: 14,
    description: 'whether the session was warned that it reached 80% of a cost cap (budget.warning, once)',
    sql: 'ALTER TABLE session ADD COLUMN budget_warned INTEGER NOT NULL DEFAULT 0',
  },
  {
    id: 15,
    description: 'sandboxes made for the session but not yet its sandbox (being cloned and set up), recorded the moment each exists',
    sql: 'ALTER TABLE session ADD COLUMN provisioning TEXT',
  },
  {
    id: 16,
    description: 'messages too large for their row (2 MB), kept whole in pieces (src/session/turns/message-rows.ts)',
    sql: `
      ALTER TABLE messages ADD COLUMN pieces INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE message_pieces (message_id TEXT NOT NULL, piece INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (message_id, piece));
    `,
  },
  {
    id: 18,
    description: "checkpoints: what each holds of the workspace and the agent's record, kept in R2 (src/session/checkpoints/store.ts)",
    sql: `
      CREATE TABLE checkpoints (
        n INTEGER PRIMARY KEY,
        message_id TEXT,
        created_at TEXT NOT NULL,
        patch_bytes INTEGER NOT NULL,
        agent_bytes INTEGER NOT NULL,
        files_changed INTEGER NOT NULL,
        base_commit TEXT NOT NULL,
        agent_session_id TEXT NOT NULL,
        digest TEXT NOT NULL
      );
    `,
  },
  {
    id: 19,
    description: 'the ACP agent session still to be given the earlier conversation as a transcript (src/session/agent/acp-connection.ts)',
    sql: 'ALTER TABLE session ADD COLUMN transcript_for TEXT',
  },
  {
    id: 20,
    description: 'the ACP bridge (and agent process) that holds the agent session open (src/session/agent/acp-connection.ts)',
    sql: 'ALTER TABLE session ADD COLUMN agent_instance TEXT',
  },
]

/** The session object's own runner, called first thing in its constructor. */
export function migrate(sql: SqlStorage) {
  runMigrations(sql, MIGRATIONS)
}
