import { DurableObject } from 'cloudflare:workers'
import type { Event as AgentEvent, OpencodeClient } from '@opencode-ai/sdk/v2/client'
import type { Bindings } from '../env'
import { AgentEventTranslator, describeAgentError } from '../events/translate'
import { event, type PublicEvent, type SandboxState, type SessionStatus, type Usage } from '../events/types'
import { fail, ok, type ErrorCode, type Outcome } from '../lib/errors'
import { randomSecret } from '../lib/ids'
import { errorMessage, log } from '../lib/log'
import { agentClient, AgentUnreachableError, waitForOpencode } from '../opencode/client'
import { buildOpencodeConfig, ConfigError } from '../opencode/config'
import { SandboxError, type SandboxEndpoint } from '../sandbox/provider'
import { ProvisionError, provisionSandbox } from '../sandbox/provision'
import { sandboxProvider } from '../sandbox/select'
import { readSettings } from '../settings'
import type {
  ConversationMessage,
  CreateSessionInput,
  Reply,
  SendMessageInput,
  SendMessageResult,
  SessionSpec,
  SessionSummary,
  SessionView,
} from './contracts'
import { EventLog } from './event-log'
import { Fanout } from './fanout'
import { idleDecision, nextWakeAt } from './lifecycle'
import { PendingRequests, type PendingKind } from './pending'
import { migrate } from './schema'

/** Messages waiting behind the running one; past this a send is refused with 429. */
export const MAX_QUEUED = 100

type SandboxRecord = { sandboxId: string; workdir: string; endpoint: SandboxEndpoint; password: string }

type SessionRow = {
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
}

type QueueRow = { pos: number; id: string; text: string; model: string | null; agent: string | null; state: string }

type Turn = { messageId: string; pos: number; seenBusy: boolean; aborted: boolean; reply?: Reply; usage: Usage }

type Waiter = (outcome: Outcome<Reply>) => void

const zeroUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cost: 0 })

function splitModel(model: string | null | undefined) {
  if (!model) return undefined
  const slash = model.indexOf('/')
  return { providerID: model.slice(0, slash), modelID: model.slice(slash + 1) }
}

/**
 * One session: its row, its event log and its message queue in SQLite, its sandbox, and the one
 * upstream subscription to the opencode inside it. Decisions about the stream live in the
 * translator and about the sandbox's life in ./lifecycle; this class wires them to storage,
 * alarms and the network.
 */
export class SessionDO extends DurableObject<Bindings> {
  private readonly sql: SqlStorage
  private readonly log: EventLog
  private readonly fanout: Fanout
  private row: SessionRow | undefined
  private translator: AgentEventTranslator | undefined
  private upstream: AbortController | undefined
  private starting: Promise<void> | undefined
  private turn: Turn | undefined
  private readonly waiters = new Map<string, Waiter[]>()
  private readonly pending: PendingRequests

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    migrate(this.sql)
    this.log = new EventLog(this.sql, () => this.row?.id ?? '')
    this.fanout = new Fanout(this.log)
    this.pending = new PendingRequests(this.sql)
    this.row = this.sql.exec<SessionRow>('SELECT * FROM session').toArray()[0]
    if (this.row && this.isOver()) this.fanout.end()
  }

  // ---- RPC surface (called by the Worker's routes) ----

  async create(input: CreateSessionInput): Promise<SessionView> {
    if (this.row) return this.view()
    const now = new Date()
    const settings = readSettings(this.env)
    const spec: SessionSpec = { ...input.spec, model: input.spec.model ?? settings.defaultModel }
    this.sql.exec(
      `INSERT INTO session (id, tenant, status, title, spec, created_at, updated_at, expires_at)
       VALUES (?, ?, 'starting', ?, ?, ?, ?, ?)`,
      input.id,
      input.tenant,
      input.title ?? null,
      JSON.stringify(spec),
      now.toISOString(),
      now.toISOString(),
      new Date(now.getTime() + settings.idleSeconds * 1000).toISOString(),
    )
    this.row = this.sql.exec<SessionRow>('SELECT * FROM session').one()
    this.emit(event('session.status', { status: 'starting' }))
    if (input.prompt) this.enqueue({ text: input.prompt })
    await this.syncIndex()
    this.ensureRunning()
    return this.view()
  }

  async get(tenant: string): Promise<Outcome<SessionView>> {
    if (!this.owns(tenant)) return this.notFound()
    this.ensureRunning()
    return ok(this.view())
  }

  async send(tenant: string, input: SendMessageInput, waitMs?: number): Promise<Outcome<SendMessageResult>> {
    if (!this.owns(tenant)) return this.notFound()
    if (this.isOver()) return fail('conflict', `the session is ${this.row!.status} and takes no more messages`)
    const accepted = this.enqueue(input)
    if (!accepted.ok) return accepted
    this.ensureRunning()
    const result = accepted.value
    if (waitMs === undefined) return ok(result)
    const reply = await this.waitForReply(result.messageId, waitMs)
    if (!reply.ok) return reply
    return ok({ ...result, reply: reply.value })
  }

  async messages(tenant: string): Promise<Outcome<ConversationMessage[]>> {
    if (!this.owns(tenant)) return this.notFound()
    const rows = this.sql
      .exec<{ id: string; role: string; text: string; parts: string; created_at: string }>(
        'SELECT id, role, text, parts, created_at FROM messages ORDER BY turn, role DESC, created_at',
      )
      .toArray()
    return ok(
      rows.map((r) => ({
        id: r.id,
        role: r.role as ConversationMessage['role'],
        text: r.text,
        parts: JSON.parse(r.parts) as unknown[],
        createdAt: r.created_at,
      })),
    )
  }

  async events(tenant: string, after: number, raw: boolean): Promise<Outcome<ReadableStream<Uint8Array>>> {
    if (!this.owns(tenant)) return this.notFound()
    this.ensureRunning()
    return ok(this.fanout.subscribe(after, { raw }))
  }

  async keepalive(tenant: string): Promise<Outcome<{ expiresAt: string }>> {
    if (!this.owns(tenant)) return this.notFound()
    if (this.isOver()) return fail('conflict', `the session is ${this.row!.status}`)
    this.touch()
    this.ensureRunning()
    return ok({ expiresAt: this.row!.expires_at })
  }

  async end(tenant: string): Promise<Outcome<SessionView>> {
    if (!this.owns(tenant)) return this.notFound()
    if (!this.isOver()) await this.finish('ended', 'deleted')
    return ok(this.view())
  }

  async answerPermission(
    tenant: string,
    permissionId: string,
    answer: { reply: 'once' | 'always' | 'reject'; message?: string },
  ): Promise<Outcome<{ permissionId: string; reply: string }>> {
    if (!this.owns(tenant)) return this.notFound()
    if (!this.pending.has('permission', permissionId)) return fail('not_found', 'no such pending permission request')
    const client = this.agent()
    if (!client) return fail('sandbox_unavailable', 'the agent is not running')
    const res = await client.permission.reply({ requestID: permissionId, reply: answer.reply, message: answer.message })
    if (res.response.status === 404) {
      this.resolvePending('permission', permissionId, { reply: 'reject', reason: 'lost' })
      return fail('not_found', 'the agent no longer waits for this request')
    }
    if (!res.response.ok) return fail('agent_unreachable', `opencode answered ${res.response.status}`)
    if (!this.resolvePending('permission', permissionId, { reply: answer.reply })) {
      return fail('not_found', 'the request was already answered')
    }
    // A bare reject makes opencode reject the session's other requests too.
    if (answer.reply === 'reject') await this.syncPending('rejected with another request')
    return ok({ permissionId, reply: answer.reply })
  }

  async answerQuestion(
    tenant: string,
    questionId: string,
    answer: { answers: string[][] } | { reject: true },
  ): Promise<Outcome<{ questionId: string; answers?: string[][]; rejected?: boolean }>> {
    if (!this.owns(tenant)) return this.notFound()
    if (!this.pending.has('question', questionId)) return fail('not_found', 'no such pending question')
    const client = this.agent()
    if (!client) return fail('sandbox_unavailable', 'the agent is not running')
    const res =
      'reject' in answer
        ? await client.question.reject({ requestID: questionId })
        : await client.question.reply({ requestID: questionId, answers: answer.answers })
    if (res.response.status === 404) {
      this.resolvePending('question', questionId, { rejected: true, reason: 'lost' })
      return fail('not_found', 'the agent no longer waits for this question')
    }
    if (!res.response.ok) return fail('agent_unreachable', `opencode answered ${res.response.status}`)
    const resolution = 'reject' in answer ? { rejected: true } : { answers: answer.answers }
    if (!this.resolvePending('question', questionId, resolution)) return fail('not_found', 'the question was already answered')
    return ok({ questionId, ...resolution })
  }

  async abort(tenant: string, clearQueue: boolean): Promise<Outcome<{ aborted: boolean; dropped: number }>> {
    if (!this.owns(tenant)) return this.notFound()
    if (this.isOver()) return fail('conflict', `the session is ${this.row!.status}`)
    const dropped = clearQueue ? this.dropQueued('the queue was cleared by an abort') : 0
    const turn = this.turn
    if (!turn) return ok({ aborted: false, dropped })
    turn.aborted = true
    const client = this.agent()
    const res = await client?.session.abort({ sessionID: this.row!.agent_session_id! }).catch(() => undefined)
    if (!res?.response.ok) this.endTurn(turn.messageId)
    return ok({ aborted: true, dropped })
  }

  override async alarm(): Promise<void> {
    if (!this.row || this.isOver()) return
    await this.expirePending()
    const decision = idleDecision({
      now: Date.now(),
      expiresAt: Date.parse(this.row.expires_at),
      busy: this.turn !== undefined || this.queuedCount() > 0,
      hasSandbox: this.row.sandbox !== null,
      clients: this.fanout.size,
    })
    if (decision.action === 'stop') await this.stopSandbox('stopped', decision.reason)
    else this.ensureRunning()
    await this.scheduleWake()
  }

  // ---- state ----

  private owns(tenant: string): boolean {
    return this.row !== undefined && this.row.tenant === tenant
  }

  private notFound(): Outcome<never> {
    return fail('not_found', 'no such session')
  }

  private isOver(): boolean {
    return this.row?.status === 'ended' || this.row?.status === 'failed'
  }

  private spec(): SessionSpec {
    return JSON.parse(this.row!.spec) as SessionSpec
  }

  private sandbox(): SandboxRecord | undefined {
    return this.row?.sandbox ? (JSON.parse(this.row.sandbox) as SandboxRecord) : undefined
  }

  private update(fields: Partial<SessionRow>) {
    const next = { ...this.row!, ...fields, updated_at: new Date().toISOString() }
    const cols = Object.keys(fields)
    this.sql.exec(
      `UPDATE session SET ${[...cols, 'updated_at'].map((c) => `${c} = ?`).join(', ')}`,
      ...cols.map((c) => next[c as keyof SessionRow]),
      next.updated_at,
    )
    this.row = next
  }

  private queuedCount(): number {
    return Number(this.sql.exec(`SELECT COUNT(*) AS n FROM queue WHERE state = 'queued'`).one().n)
  }

  private view(): SessionView {
    const row = this.row!
    const spec = this.spec()
    return {
      id: row.id,
      status: row.status,
      title: row.title,
      repo: spec.repo ?? null,
      model: spec.model ?? null,
      agent: spec.agent ?? null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      expiresAt: row.expires_at,
      lastEventId: this.log.lastSeq,
      queued: this.queuedCount(),
      usage: { inputTokens: row.input_tokens, outputTokens: row.output_tokens, cost: row.cost },
      pending: {
        permissions: this.pending.list('permission').map((p) => p.data),
        questions: this.pending.list('question').map((p) => p.data),
      },
      ...(row.failure && { error: JSON.parse(row.failure) as { code: string; message: string } }),
    }
  }

  private summary(): SessionSummary {
    const v = this.view()
    return { id: v.id, status: v.status, title: v.title, createdAt: v.createdAt, updatedAt: v.updatedAt }
  }

  private async syncIndex() {
    const index = this.env.TENANTS.get(this.env.TENANTS.idFromName(this.row!.tenant))
    await index.upsert(this.summary()).catch((err: unknown) => log('warn', 'tenant index update failed', { err: errorMessage(err) }))
  }

  private emit(ev: PublicEvent) {
    const logged = this.log.append(ev)
    this.fanout.publish(logged)
  }

  private setStatus(status: SessionStatus, reason?: string) {
    if (this.row!.status === status) return
    this.update({ status })
    this.emit(event('session.status', { status, ...(reason && { reason }) }))
    void this.syncIndex()
  }

  private sandboxState(state: SandboxState, reason?: string) {
    this.emit(event('sandbox.status', { state, ...(reason && { reason }) }))
  }

  private touch() {
    const settings = readSettings(this.env)
    this.update({ expires_at: new Date(Date.now() + settings.idleSeconds * 1000).toISOString() })
  }

  private async scheduleWake() {
    if (!this.row || this.isOver()) return this.ctx.storage.deleteAlarm()
    await this.ctx.storage.setAlarm(nextWakeAt(Date.now(), Date.parse(this.row.expires_at), this.pending.nextDeadline()))
  }

  /** A client for the running agent, or nothing when there is none. */
  private agent(): OpencodeClient | undefined {
    const record = this.sandbox()
    if (!record || !this.upstream) return undefined
    return agentClient(record.endpoint, record.password, record.workdir)
  }

  // ---- requests waiting on a human ----

  private pendingDeadline(): number {
    const spec = this.spec()
    const seconds = spec.pendingTimeoutSeconds ?? readSettings(this.env).pendingTimeoutSeconds
    return Date.now() + seconds * 1000
  }

  /** Announces the end of a request exactly once, whoever ends it; false when it was already over. */
  private resolvePending(kind: PendingKind, id: string, resolution: Record<string, unknown>): boolean {
    if (!this.pending.take(kind, id)) return false
    if (kind === 'permission') {
      const { reply, ...rest } = resolution as { reply: string }
      this.emit(event('permission.resolved', { permissionId: id, reply, ...rest }))
    } else {
      this.emit(event('question.resolved', { questionId: id, ...resolution }))
    }
    return true
  }

  private resolveAllPending(reason: string) {
    for (const p of this.pending.list()) {
      this.resolvePending(p.kind, p.id, p.kind === 'permission' ? { reply: 'reject', reason } : { rejected: true, reason })
    }
  }

  /** Clears what we think is pending but opencode no longer waits for. */
  private async syncPending(reason: string) {
    const client = this.agent()
    if (!client) return
    const [permissions, questions] = await Promise.all([client.permission.list(), client.question.list()])
    if (!permissions.data || !questions.data) return
    const open = new Set([...permissions.data.map((p) => p.id), ...questions.data.map((q) => q.id)])
    for (const p of this.pending.list()) {
      if (open.has(p.id)) continue
      this.resolvePending(p.kind, p.id, p.kind === 'permission' ? { reply: 'reject', reason } : { rejected: true, reason })
    }
  }

  /** Nobody answered in time: reject, so that no session waits forever. */
  private async expirePending() {
    const expired = this.pending.expired(Date.now())
    if (expired.length === 0) return
    const client = this.agent()
    for (const p of expired) {
      const message = 'No one answered in time, so the request was rejected automatically.'
      if (client) {
        if (p.kind === 'permission') await client.permission.reply({ requestID: p.id, reply: 'reject', message }).catch(() => {})
        else await client.question.reject({ requestID: p.id }).catch(() => {})
      }
      this.resolvePending(p.kind, p.id, p.kind === 'permission' ? { reply: 'reject', reason: 'timeout' } : { rejected: true, reason: 'timeout' })
    }
  }

  // ---- the queue ----

  /** Drops every waiting message, answering whoever waits for one. */
  private dropQueued(reason: string): number {
    const dropped = this.sql.exec<{ id: string }>(`SELECT id FROM queue WHERE state = 'queued'`).toArray()
    this.sql.exec(`UPDATE queue SET state = 'dropped' WHERE state = 'queued'`)
    for (const { id } of dropped) this.resolveWaiters(id, fail('conflict', reason))
    return dropped.length
  }


  private enqueue(input: SendMessageInput): Outcome<SendMessageResult> {
    if (input.idempotencyKey) {
      const seen = this.sql
        .exec<QueueRow>('SELECT * FROM queue WHERE idempotency_key = ?', input.idempotencyKey)
        .toArray()[0]
      if (seen) return ok({ messageId: seen.id, queued: seen.state === 'queued', duplicate: true })
    }
    if (this.queuedCount() >= MAX_QUEUED) {
      return fail('too_many_requests', `the session already has ${MAX_QUEUED} messages waiting`)
    }
    const id = `msg_${randomSecret(10)}`
    const now = new Date().toISOString()
    this.sql.exec(
      `INSERT INTO queue (id, text, model, agent, idempotency_key, state, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?)`,
      id,
      input.text,
      input.model ?? null,
      input.agent ?? null,
      input.idempotencyKey ?? null,
      now,
    )
    const pos = Number(this.sql.exec('SELECT pos FROM queue WHERE id = ?', id).one().pos)
    this.sql.exec(
      `INSERT INTO messages (id, turn, role, text, parts, created_at) VALUES (?, ?, 'user', ?, ?, ?)`,
      id,
      pos,
      input.text,
      JSON.stringify([{ type: 'text', text: input.text }]),
      now,
    )
    const queued = this.row!.status !== 'idle' || this.turn !== undefined
    this.emit(event('message.created', { messageId: id, role: 'user', text: input.text }))
    this.emit(event('message.completed', { messageId: id, role: 'user', text: input.text }))
    this.touch()
    this.pump()
    return ok({ messageId: id, queued, duplicate: false })
  }

  /** Sends the next queued message when the agent is free; one turn at a time, in order. */
  private pump() {
    if (this.row?.status !== 'idle' || this.turn || !this.upstream || !this.translator) return
    const next = this.sql.exec<QueueRow>(`SELECT * FROM queue WHERE state = 'queued' ORDER BY pos LIMIT 1`).toArray()[0]
    if (!next) return
    const sandbox = this.sandbox()!
    this.sql.exec(`UPDATE queue SET state = 'running' WHERE id = ?`, next.id)
    this.turn = { messageId: next.id, pos: next.pos, seenBusy: false, aborted: false, usage: zeroUsage() }
    this.translator.pendingUserMessageId = next.id
    this.setStatus('busy')
    const spec = this.spec()
    const client = agentClient(sandbox.endpoint, sandbox.password, sandbox.workdir)
    client.session
      .promptAsync({
        sessionID: this.row.agent_session_id!,
        parts: [{ type: 'text', text: next.text }],
        model: splitModel(next.model ?? spec.model),
        agent: next.agent ?? spec.agent,
      })
      .then((res) => {
        if (res.error || !res.response.ok) {
          this.endTurn(next.id, 'agent_unreachable', `opencode refused the message (${res.response.status})`)
        }
      })
      .catch((err: unknown) => this.endTurn(next.id, 'agent_unreachable', `could not reach opencode: ${errorMessage(err)}`))
  }

  /** Closes the running turn: records its outcome, answers whoever waits, and moves the queue on. */
  private endTurn(messageId: string, errorCode?: ErrorCode, errorText?: string) {
    const turn = this.turn
    if (!turn || turn.messageId !== messageId) return
    this.turn = undefined
    this.sql.exec(`UPDATE queue SET state = ? WHERE id = ?`, turn.aborted ? 'aborted' : errorCode ? 'failed' : 'done', messageId)
    if (errorCode) this.emit(event('error', { code: errorCode, message: errorText ?? 'the turn failed' }))
    const reply: Reply = turn.reply ?? { messageId: null, text: '', usage: turn.usage }
    this.resolveWaiters(
      messageId,
      errorCode ? fail(errorCode, errorText ?? 'the turn failed') : ok({ ...reply, usage: turn.usage }),
    )
    if (this.row && !this.isOver()) {
      this.setStatus('idle', turn.aborted ? 'aborted' : undefined)
      if (turn.aborted) void this.syncPending('turn aborted')
      this.pump()
    }
  }

  private waitForReply(messageId: string, waitMs: number): Promise<Outcome<Reply>> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.set(messageId, (this.waiters.get(messageId) ?? []).filter((w) => w !== done))
        resolve(fail('timeout', `no reply within ${Math.round(waitMs / 1000)} s; the turn goes on`, { messageId }))
      }, waitMs)
      const done: Waiter = (outcome) => {
        clearTimeout(timer)
        resolve(outcome)
      }
      this.waiters.set(messageId, [...(this.waiters.get(messageId) ?? []), done])
    })
  }

  private resolveWaiters(messageId: string, outcome: Outcome<Reply>) {
    for (const w of this.waiters.get(messageId) ?? []) w(outcome)
    this.waiters.delete(messageId)
  }

  // ---- the sandbox and the upstream subscription ----

  /** Brings the session to where it should be: a sandbox, an agent, a live subscription. Idempotent. */
  private ensureRunning() {
    if (!this.row || this.isOver() || this.starting) return
    if (this.row.sandbox && this.upstream) return
    this.starting = (this.row.sandbox ? this.reconnect() : this.provision()).finally(() => {
      this.starting = undefined
    })
    void this.scheduleWake()
  }

  private async provision() {
    const row = this.row!
    const spec = this.spec()
    const settings = readSettings(this.env)
    this.sandboxState('starting')
    try {
      const provider = sandboxProvider(settings)
      const config = buildOpencodeConfig(settings.opencodeConfig, settings.defaultModel, spec)
      const password = randomSecret()
      const provisioned = await provisionSandbox(
        provider,
        {
          envs: {
            ...settings.providerEnv,
            OPENCODE_SERVER_PASSWORD: password,
            OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
            // Our sandboxes always have a client that can answer the agent's questions.
            OPENCODE_ENABLE_QUESTION_TOOL: '1',
          },
          metadata: { sessionId: row.id },
          repo: spec.repo,
          setup: spec.setup,
        },
        (step) => this.sandboxState('starting', step),
      )
      const record: SandboxRecord = { ...provisioned, password }
      this.update({ sandbox: JSON.stringify(record) })
      if (this.isOver()) return void (await provider.kill(record.sandboxId).catch(() => {}))
      await waitForOpencode(record.endpoint, password)
      const client = agentClient(record.endpoint, password, record.workdir)
      const created = await client.session.create({ title: row.title ?? undefined })
      if (!created.data) throw new AgentUnreachableError('opencode did not create a session')
      this.update({ agent_session_id: created.data.id })
      await this.subscribe(record, client)
      this.sandboxState('ready')
      this.setStatus('idle')
      this.pump()
    } catch (err) {
      await this.failSession(err)
    }
  }

  /** After a restart of this object: the sandbox may still be there; pick up its stream again. */
  private async reconnect() {
    const record = this.sandbox()!
    try {
      await waitForOpencode(record.endpoint, record.password, { timeoutMs: 5_000 })
      await this.subscribe(record, agentClient(record.endpoint, record.password, record.workdir))
      await this.syncPending('lost')
      if (this.row!.status === 'busy' && !this.turn) this.interruptStaleTurn()
      if (this.row!.status === 'starting') this.setStatus('idle')
      this.pump()
    } catch {
      await this.loseSandbox('opencode is not answering')
    }
  }

  /** A turn this object was running before it restarted cannot be followed any more. */
  private interruptStaleTurn() {
    const running = this.sql.exec<QueueRow>(`SELECT * FROM queue WHERE state = 'running'`).toArray()
    for (const r of running) {
      this.sql.exec(`UPDATE queue SET state = 'failed' WHERE id = ?`, r.id)
      this.emit(event('error', { code: 'interrupted', message: 'the turn was interrupted by a restart of the service' }))
    }
    this.setStatus('idle')
  }

  private async subscribe(record: SandboxRecord, client: OpencodeClient) {
    const controller = new AbortController()
    this.translator = new AgentEventTranslator(this.row!.agent_session_id!, record.workdir)
    const sub = await client.event.subscribe({}, { signal: controller.signal, sseMaxRetryAttempts: 1 })
    const stream = sub.stream[Symbol.asyncIterator]()
    // opencode has no replay: prompting before the stream is open would lose the first events.
    const first = await stream.next()
    if (first.done) throw new AgentUnreachableError('opencode closed its event stream at once')
    this.upstream = controller
    void this.consume(stream, controller)
  }

  private async consume(stream: AsyncIterator<unknown>, controller: AbortController) {
    try {
      for (;;) {
        const next = await stream.next()
        if (next.done) break
        this.onAgentEvent(next.value as AgentEvent)
      }
    } catch (err) {
      if (!controller.signal.aborted) log('warn', 'upstream stream failed', { sessionId: this.row?.id, err: errorMessage(err) })
    }
    if (this.upstream !== controller) return
    this.upstream = undefined
    if (controller.signal.aborted || this.isOver()) return
    await this.loseSandbox('the agent event stream ended')
  }

  private onAgentEvent(ev: AgentEvent) {
    const translator = this.translator
    if (!translator || !translator.concerns(ev)) return
    if (this.fanout.size > 0) this.fanout.publishRaw(JSON.stringify(ev))
    for (const pub of translator.translate(ev)) {
      if (pub.type === 'permission.resolved') this.resolvePending('permission', pub.data.permissionId, { reply: pub.data.reply })
      else if (pub.type === 'question.resolved') this.resolvePending('question', pub.data.questionId, pub.data)
      else {
        this.emit(pub)
        this.track(pub)
      }
    }
    const root = AgentEventTranslator.sessionOf(ev) === translator.rootSessionId
    if (!root || !this.turn) return
    if (ev.type === 'session.status') {
      if (ev.properties.status.type === 'busy') this.turn.seenBusy = true
      else if (ev.properties.status.type === 'idle' && this.turn.seenBusy) this.endTurn(this.turn.messageId)
    } else if (ev.type === 'session.error' && !this.turn.seenBusy) {
      const { code, message } = describeAgentError(ev.properties.error as never)
      this.endTurn(this.turn.messageId, 'agent_unreachable', `${code}: ${message}`)
    }
  }

  /** Bookkeeping that follows from public events: conversation, usage, pending requests. */
  private track(pub: PublicEvent) {
    switch (pub.type) {
      case 'message.completed': {
        if (pub.data.role !== 'assistant') return
        const usage = pub.data.usage ?? zeroUsage()
        this.update({
          input_tokens: this.row!.input_tokens + usage.inputTokens,
          output_tokens: this.row!.output_tokens + usage.outputTokens,
          cost: this.row!.cost + usage.cost,
        })
        // opencode can finish an aborted message after the next turn began: file it under its own turn.
        const parent = pub.data.parentId
        const turnPos = parent
          ? this.sql.exec<{ pos: number }>('SELECT pos FROM queue WHERE id = ?', parent).toArray()[0]?.pos
          : undefined
        this.sql.exec(
          `INSERT OR REPLACE INTO messages (id, turn, role, text, parts, created_at) VALUES (?, ?, 'assistant', ?, ?, ?)`,
          pub.data.messageId,
          turnPos ?? Number.MAX_SAFE_INTEGER,
          pub.data.text,
          JSON.stringify(this.translator?.partsOf(pub.data.messageId) ?? []),
          new Date().toISOString(),
        )
        const turn = this.turn
        if (turn && parent === turn.messageId) {
          turn.usage = {
            inputTokens: turn.usage.inputTokens + usage.inputTokens,
            outputTokens: turn.usage.outputTokens + usage.outputTokens,
            cost: turn.usage.cost + usage.cost,
          }
          if (pub.data.text) turn.reply = { messageId: pub.data.messageId, text: pub.data.text, usage }
        }
        return
      }
      case 'permission.requested':
        this.pending.add('permission', pub.data.permissionId, pub.data, this.pendingDeadline())
        void this.scheduleWake()
        return
      case 'question.asked':
        this.pending.add('question', pub.data.questionId, pub.data, this.pendingDeadline())
        void this.scheduleWake()
        return
    }
  }

  /** The sandbox or its agent is gone: say so, fail the running turn, and start afresh on the next message. */
  private async loseSandbox(reason: string) {
    const record = this.sandbox()
    this.upstream?.abort()
    this.upstream = undefined
    this.translator = undefined
    this.update({ sandbox: null, agent_session_id: null })
    this.resolveAllPending('lost')
    this.sandboxState('lost', reason)
    if (record) await sandboxProvider(readSettings(this.env)).kill(record.sandboxId).catch(() => {})
    if (this.turn) this.endTurn(this.turn.messageId, 'agent_unreachable', `the turn was lost: ${reason}`)
    else if (this.row!.status !== 'idle') this.setStatus('idle')
    if (this.queuedCount() > 0) this.ensureRunning()
  }

  private async stopSandbox(state: SandboxState, reason: string) {
    const record = this.sandbox()
    this.upstream?.abort()
    this.upstream = undefined
    this.translator = undefined
    if (!record) return
    this.update({ sandbox: null, agent_session_id: null })
    await sandboxProvider(readSettings(this.env))
      .kill(record.sandboxId)
      .catch((err: unknown) => log('warn', 'sandbox kill failed', { sessionId: this.row?.id, err: errorMessage(err) }))
    this.sandboxState(state, reason)
  }

  private async failSession(err: unknown) {
    if (this.isOver()) return
    const { code, message } = describeFailure(err)
    log('warn', 'session failed', { sessionId: this.row?.id, code })
    this.update({ failure: JSON.stringify({ code, message }) })
    this.emit(event('error', { code, message }))
    await this.finish('failed', message)
  }

  /** Ends the session for good: the sandbox goes, queued messages are dropped, streams close. */
  private async finish(status: 'ended' | 'failed', reason: string) {
    this.setStatus(status, reason)
    await this.stopSandbox('stopped', status === 'ended' ? 'session ended' : 'session failed')
    if (this.turn) this.endTurn(this.turn.messageId, 'conflict', `the session ${status}`)
    this.dropQueued(`the session ${status} before this message ran`)
    this.resolveAllPending(`session ${status}`)
    this.emit(event('session.ended', { reason }))
    this.fanout.end()
    await this.ctx.storage.deleteAlarm()
    await this.syncIndex()
  }
}

function describeFailure(err: unknown): { code: string; message: string } {
  if (err instanceof ProvisionError) return { code: err.code, message: err.message }
  if (err instanceof SandboxError) return { code: `sandbox_${err.code}`, message: err.message }
  if (err instanceof ConfigError) return { code: 'bad_configuration', message: err.message }
  if (err instanceof AgentUnreachableError) return { code: 'agent_unreachable', message: err.message }
  return { code: 'internal_error', message: errorMessage(err) }
}
