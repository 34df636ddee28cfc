import { addUsage, DEFAULT_RUNTIME, type SessionStatus, type TodoItem, type Usage } from '../../contracts'
import { updateRow } from '../../lib/row'
import type { SandboxRecord } from '../../sandbox/record'
import type { SessionSpec, SessionSummary, SessionView } from '../../contracts'

export type SessionRow = {
  id: string
  tenant: string
  status: SessionStatus
  title: string | null
  spec: string
  created_at: string
  updated_at: string
  expires_at: string
  input_tokens: number
  output_tokens: number
  cost: number
  sandbox: string | null
  agent_session_id: string | null
  failure: string | null
  secrets: string | null
  gateway_digest: string | null
  gw_input_tokens: number
  gw_output_tokens: number
  gw_cost: number
  spend_reported: number
  budget_exceeded: string | null
  /** 1 once the session was warned that it reached 80% of a cost cap */
  budget_warned: number
  ended_at: string | null
  todos: string | null
  /** the undo in effect (`{messageId, agentMessageId}`), while it can still be taken back */
  revert: string | null
  /** JSON list of the ids of sandboxes made for the session and not yet its sandbox (see ./provisioning) */
  provisioning: string | null
  /**
   * An ACP agent session opened without the earlier conversation (a new sandbox, or an agent that
   * lost its own record): its next prompt carries the conversation's transcript, and this is cleared
   */
  transcript_for: string | null
  /** the ACP bridge whose agent process holds `agent_session_id` open: a stream to it again needs no `session/load` */
  agent_instance: string | null
}

export type NewSession = { id: string; tenant: string; title: string | null; spec: SessionSpec; secrets: string | null; expiresAt: Date }

/** What a view of the session takes from its other parts. */
export type ViewParts = Pick<SessionView, 'lastEventId' | 'queued' | 'pending'>

/**
 * The session's own row: who owns it, where it stands, its spec, its sandbox record and what it
 * has used. The other parts read and change the session through this one place.
 */
export class SessionStore {
  private current: SessionRow | undefined

  constructor(private readonly sql: SqlStorage) {
    this.reload()
  }

  /** Reads the row again: after the session's storage was deleted there is none. */
  reload() {
    this.current = this.sql.exec<SessionRow>('SELECT * FROM session').toArray()[0]
  }

  get exists(): boolean {
    return this.current !== undefined
  }

  /** The row; only called once the session exists. */
  get row(): SessionRow {
    if (!this.current) throw new Error('the session does not exist yet')
    return this.current
  }

  /** The row when the session exists: background work may outlive nothing, never a row. */
  get maybe(): SessionRow | undefined {
    return this.current
  }

  insert(s: NewSession, now: Date) {
    this.sql.exec(
      `INSERT INTO session (id, tenant, status, title, spec, created_at, updated_at, expires_at, secrets)
       VALUES (?, ?, 'starting', ?, ?, ?, ?, ?, ?)`,
      s.id,
      s.tenant,
      s.title,
      JSON.stringify(s.spec),
      now.toISOString(),
      now.toISOString(),
      s.expiresAt.toISOString(),
      s.secrets,
    )
    this.current = this.sql.exec<SessionRow>('SELECT * FROM session').one()
  }

  update(fields: Partial<SessionRow>) {
    this.current = updateRow(this.sql, 'session', this.row, fields)
  }

  owns(tenant: string): boolean {
    return this.current !== undefined && this.current.tenant === tenant
  }

  isOver(): boolean {
    return this.current?.status === 'ended' || this.current?.status === 'failed'
  }

  spec(): SessionSpec {
    return JSON.parse(this.row.spec) as SessionSpec
  }

  sandbox(): SandboxRecord | undefined {
    return this.current?.sandbox ? (JSON.parse(this.current.sandbox) as SandboxRecord) : undefined
  }

  saveSandbox(record: SandboxRecord | null) {
    this.update({ sandbox: record && JSON.stringify(record) })
  }

  /** Sandboxes made for the session that are not its sandbox yet (see ./provisioning). */
  provisioning(): string[] {
    return this.current?.provisioning ? (JSON.parse(this.current.provisioning) as string[]) : []
  }

  saveProvisioning(ids: string[]) {
    this.update({ provisioning: ids.length > 0 ? JSON.stringify(ids) : null })
  }

  /** Adds one assistant message's usage to the session's totals. */
  addUsage(usage: Usage) {
    const total = addUsage(this.usage(), usage)
    this.update({ input_tokens: total.inputTokens, output_tokens: total.outputTokens, cost: total.cost })
  }

  revert(): { messageId: string; agentMessageId: string } | undefined {
    return this.current?.revert ? (JSON.parse(this.current.revert) as { messageId: string; agentMessageId: string }) : undefined
  }

  usage(): Usage {
    const row = this.row
    return { inputTokens: row.input_tokens, outputTokens: row.output_tokens, cost: row.cost }
  }

  view(parts: ViewParts): SessionView {
    const row = this.row
    const spec = this.spec()
    return {
      id: row.id,
      status: row.status,
      title: row.title,
      repo: spec.repo ?? null,
      model: spec.model ?? null,
      agent: spec.agent ?? null,
      runtime: spec.runtime ?? DEFAULT_RUNTIME,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      expiresAt: row.expires_at,
      ...parts,
      usage: this.usage(),
      spend: { inputTokens: row.gw_input_tokens, outputTokens: row.gw_output_tokens, cost: row.gw_cost },
      todos: row.todos ? (JSON.parse(row.todos) as TodoItem[]) : [],
      revert: this.revert()?.messageId ?? null,
      ...(row.failure && { error: JSON.parse(row.failure) as { code: string; message: string } }),
    }
  }

  summary(): SessionSummary {
    const row = this.row
    return { id: row.id, status: row.status, title: row.title, createdAt: row.created_at, updatedAt: row.updated_at }
  }
}
