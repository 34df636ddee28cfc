import { DurableObject } from 'cloudflare:workers'
import type { Event as AgentEvent, OpencodeClient } from '@opencode-ai/sdk/v2/client'
import type { Bindings } from '../env'
import { AgentEventTranslator, capText, describeAgentError, MAX_MESSAGE_TEXT, snapshotEvents } from '../events/translate'
import { event, type PublicEvent, type SandboxState, type SessionStatus, type Usage } from '../contracts'
import { fail, ok, type ErrorCode, type Outcome } from '../lib/errors'
import { randomSecret } from '../lib/ids'
import { updateRow } from '../lib/row'
import { errorMessage, log } from '../lib/log'
import { agentClient, AgentUnreachableError, waitForOpencode } from '../opencode/client'
import { ConfigError } from '../opencode/config'
import { canUseWarmSandbox, sandboxPlan, settingsFingerprint } from '../sandbox/plan'
import { POOL_NAME, runStub } from '../durable-objects'
import type { WarmSandbox } from '../sandbox/record'
import { SandboxError, type SandboxProvider } from '../sandbox/provider'
import { ProvisionError, provisionSandbox } from '../sandbox/provision'
import { sandboxProvider } from '../sandbox/select'
import { SessionUsage } from '../tenant/usage-report'
import { GatewayAccount } from './gateway-account'
import type { GatewayGrant } from '../gateway/routes'
import { readSettings } from '../settings'
import type { Metered } from '../gateway/meter'
import { newGatewayToken } from '../gateway/token'
import { AgentLink, AgentStreamError, type LinkEnd } from './agent-link'
import type {
  ConversationMessage,
  CreateSessionInput,
  Reply,
  RunSignal,
  SendMessageInput,
  SendMessageResult,
  SessionSpec,
  SessionSummary,
  SessionView,
} from '../contracts'
import { Conversation } from './conversation'
import { EventLog } from './event-log'
import { Fanout } from './fanout'
import {
  idleDecision,
  needsKeepAlive,
  nextWakeAt,
  provisionRetry,
  recoveryDecision,
  sandboxTimeoutMs,
  wantsSandbox,
  type RecoveryAction,
  type SandboxProbe,
} from './lifecycle'
import { PendingRequests, type PendingKind } from './pending'
import { MessageQueue, type QueuedMessage } from './queue'
import { migrate } from './schema'
import { openSecrets, sealSecrets, type SessionSecrets } from './secrets'

/** Messages waiting behind the running one; past this a send is refused with 429. */
export const MAX_QUEUED = 100
/** How long a request of a background run waits before it is rejected: nobody will answer. */
const UNATTENDED_PENDING_SECONDS = 2
/** After a restart, text already streamed is looked up this far back in the log. */
const RESTORE_WINDOW = 20_000
/** How many of opencode's latest messages a resync compares with what clients have seen. */
const RESYNC_MESSAGES = 20

/**
 * The session's sandbox as stored: where its agent answers, whether it is paused, and until when
 * the provider keeps it on its own (unknown for one from the warm pool).
 */
type SandboxRecord = Omit<WarmSandbox, 'gatewayDigest' | 'gatewayOwner'> & { paused?: boolean; deadline?: number }

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
  secrets: string | null
  gateway_digest: string | null
  gw_input_tokens: number
  gw_output_tokens: number
  gw_cost: number
  spend_reported: number
  budget_exceeded: string | null
}


type Turn = { messageId: string; pos: number; seenBusy: boolean; aborted: boolean; reply?: Reply; usage: Usage }

type Waiter = (outcome: Outcome<Reply>) => void

const zeroUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cost: 0 })
const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cost: a.cost + b.cost,
})
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function splitModel(model: string | null | undefined) {
  if (!model) return undefined
  const slash = model.indexOf('/')
  return { providerID: model.slice(0, slash), modelID: model.slice(slash + 1) }
}

/**
 * One session: its row, event log, message queue and conversation in SQLite, its sandbox, and
 * the one upstream link to the opencode inside it. Decisions live elsewhere (the translator for
 * the stream, ./lifecycle for the sandbox's life); this class wires them to storage, alarms and
 * the network.
 */
export class SessionDO extends DurableObject<Bindings> {
  private readonly sql: SqlStorage
  private readonly log: EventLog
  private readonly fanout: Fanout
  private readonly pending: PendingRequests
  private readonly queue: MessageQueue
  private readonly conversation: Conversation
  private readonly usage: SessionUsage
  private readonly account: GatewayAccount
  private row: SessionRow | undefined
  private translator: AgentEventTranslator | undefined
  private link: AgentLink | undefined
  /** provisioning or recovery under way; one at a time */
  private working: Promise<unknown> | undefined
  private turn: Turn | undefined
  private readonly waiters = new Map<string, Waiter[]>()

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    migrate(this.sql)
    this.log = new EventLog(ctx.storage, () => this.row?.id ?? '', (events) => this.fanout.publishAll(events))
    this.fanout = new Fanout(this.log)
    this.pending = new PendingRequests(this.sql)
    this.queue = new MessageQueue(this.sql)
    this.conversation = new Conversation(this.sql)
    this.usage = new SessionUsage(this.sql, env, () => this.row)
    this.account = new GatewayAccount({
      env,
      row: () => this.row!,
      update: (fields) => this.update(fields),
      limits: () => this.spec().limits,
      isOver: () => this.isOver(),
      budgetExceeded: (reason) => {
        this.emit(event('error', { code: 'budget_exceeded', message: reason }))
        this.tellRun({ kind: 'session_failed', code: 'budget_exceeded', message: reason })
      },
    })
    this.row = this.sql.exec<SessionRow>('SELECT * FROM session').toArray()[0]
    if (this.row && this.isOver()) this.fanout.end()
  }

  // ---- RPC surface (called by the Worker's routes) ----

  async create(input: CreateSessionInput): Promise<Outcome<SessionView>> {
    if (this.row) return ok(this.view())
    const now = new Date()
    const settings = readSettings(this.env)
    const spec: SessionSpec = { ...input.spec, model: input.spec.model ?? settings.defaultModel }
    const admission = await this.tenantIndex(input.tenant).admit(
      { id: input.id, status: 'starting', title: input.title ?? null, createdAt: now.toISOString(), updatedAt: now.toISOString() },
      { maxActive: settings.maxActiveSessions, perMinute: settings.sessionCreatesPerMinute },
    )
    if (!admission.ok) return fail('too_many_requests', admission.reason)
    const secrets = await sealSecrets(this.env.SECRETS_KEY, { env: input.secrets, repoToken: input.repoToken, modelKeys: input.modelKeys })
    this.sql.exec(
      `INSERT INTO session (id, tenant, status, title, spec, created_at, updated_at, expires_at, secrets)
       VALUES (?, ?, 'starting', ?, ?, ?, ?, ?, ?)`,
      input.id,
      input.tenant,
      input.title ?? null,
      JSON.stringify(spec),
      now.toISOString(),
      now.toISOString(),
      new Date(now.getTime() + settings.idleSeconds * 1000).toISOString(),
      secrets,
    )
    this.row = this.sql.exec<SessionRow>('SELECT * FROM session').one()
    this.usage.started()
    this.emit(event('session.status', { status: 'starting' }))
    if (input.prompt) this.enqueue({ text: input.prompt })
    await this.syncIndex()
    this.ensureRunning()
    return ok(this.view())
  }

  async get(tenant: string): Promise<Outcome<SessionView>> {
    if (!this.owns(tenant)) return this.notFound()
    this.ensureRunning()
    return ok(this.view())
  }

  async send(tenant: string, input: SendMessageInput, waitMs?: number): Promise<Outcome<SendMessageResult>> {
    if (!this.owns(tenant)) return this.notFound()
    if (this.isOver()) return fail('conflict', `the session is ${this.row!.status} and takes no more messages`)
    const budget = await this.account.budget()
    if (!budget.ok) return fail('budget_exceeded', budget.reason)
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
    return ok(this.conversation.list())
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
    const record = this.sandbox()
    if (record && !record.paused) await this.keepSandboxAlive(record, Date.now(), Date.parse(this.row!.expires_at))
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
    // opencode's own echo of this answer may have resolved it already; either way it is answered once.
    this.resolvePending('permission', permissionId, { reply: answer.reply })
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
    this.resolvePending('question', questionId, resolution)
    return ok({ questionId, ...resolution })
  }

  async abort(tenant: string, clearQueue: boolean): Promise<Outcome<{ aborted: boolean; dropped: number }>> {
    if (!this.owns(tenant)) return this.notFound()
    if (this.isOver()) return fail('conflict', `the session is ${this.row!.status}`)
    const dropped = clearQueue ? this.dropQueued('the queue was cleared by an abort') : 0
    const turn = this.turn
    if (!turn) return ok({ aborted: false, dropped })
    turn.aborted = true
    const res = await this.agent()
      ?.session.abort({ sessionID: this.row!.agent_session_id! })
      .catch(() => undefined)
    if (!res?.response.ok) this.endTurn(turn.messageId)
    return ok({ aborted: true, dropped })
  }

  async rename(tenant: string, title: string): Promise<Outcome<SessionView>> {
    if (!this.owns(tenant)) return this.notFound()
    if (title !== this.row!.title) {
      this.translator?.knowTitle(title)
      this.update({ title })
      this.emit(event('session.updated', { title }))
      await this.syncIndex()
      await this.agent()
        ?.session.update({ sessionID: this.row!.agent_session_id!, title })
        .catch(() => undefined)
    }
    return ok(this.view())
  }

  /**
   * What changed in the workspace, file by file: the working tree against the commit it started
   * from (the cloned ref, or the baseline commit of a workspace without a repository).
   */
  async diff(tenant: string): Promise<Outcome<{ files: { path: string; status?: string; additions: number; deletions: number; patch?: string }[] }>> {
    if (!this.owns(tenant)) return this.notFound()
    const client = this.agent()
    if (!client) return fail('sandbox_unavailable', 'the session has no running sandbox')
    const res = await client.vcs.diff({ mode: 'git' })
    if (!res.data) return fail('agent_unreachable', `opencode answered ${res.response.status}`)
    return ok({
      files: res.data.map((d) => ({ path: d.file ?? '', status: d.status, additions: d.additions, deletions: d.deletions, patch: d.patch })),
    })
  }

  /**
   * The workspace's changes as one unified diff, new files included. It marks untracked files
   * intent-to-add in the index, so it is meant for a run's result, just before its sandbox goes.
   */
  async workspacePatch(tenant: string): Promise<Outcome<string>> {
    if (!this.owns(tenant)) return this.notFound()
    const record = this.sandbox()
    if (!record) return fail('sandbox_unavailable', 'the session has no running sandbox')
    const r = await this.provider().exec(record.sandboxId, 'git add --all --intent-to-add && git diff --no-color --no-ext-diff', {
      cwd: record.workdir,
      timeoutMs: 60_000,
    })
    if (r.exitCode !== 0) return fail('sandbox_unavailable', `git diff exited with ${r.exitCode}`)
    return ok(capText(r.stdout, MAX_MESSAGE_TEXT))
  }

  /** A workspace file, read through the provider; `path` was checked to stay inside the workspace. */
  async readFile(tenant: string, path: string): Promise<Outcome<{ path: string; type: 'text' | 'binary'; content: string }>> {
    if (!this.owns(tenant)) return this.notFound()
    const record = this.sandbox()
    if (!record) return fail('sandbox_unavailable', 'the session has no running sandbox')
    try {
      const file = await this.provider().readFile(record.sandboxId, `${record.workdir}/${path}`)
      return ok({ path, ...file })
    } catch (err) {
      if (err instanceof SandboxError && err.code === 'not_found') return fail('not_found', `no file ${path} in the workspace`)
      if (err instanceof SandboxError && err.code === 'failed') return fail('bad_request', err.message)
      return fail('sandbox_unavailable', errorMessage(err))
    }
  }

  // ---- the model gateway (called by the Worker's gateway route, never by a client) ----

  /**
   * Whether a call from this session's sandbox may go on to `provider`, and with which key: the
   * token must be the current sandbox's, the session open, and the budget not spent.
   */
  async gatewayGrant(digest: string, provider: string): Promise<Outcome<GatewayGrant>> {
    return this.row ? this.account.grant(digest, provider) : fail('unauthorized', 'not a valid gateway token')
  }

  /** What one granted call used, as the provider's answer said; it counts even if the session ended since. */
  async gatewayReport(provider: string, metered: Metered): Promise<void> {
    if (this.row) await this.account.report(provider, metered)
  }

  override async alarm(): Promise<void> {
    if (!this.row || this.isOver()) return
    this.usage.flush()
    await this.expirePending()
    const now = Date.now()
    const expiresAt = Date.parse(this.row.expires_at)
    const record = this.sandbox()
    const decision = idleDecision({
      now,
      expiresAt,
      busy: this.turn !== undefined || this.queue.waiting() > 0 || this.working !== undefined,
      hasSandbox: record !== undefined && !record.paused,
      clients: this.fanout.size,
    })
    if (decision.action === 'pause') {
      // One at a time with provisioning and recovery: a message arriving mid-pause resumes after it.
      this.runWork(() => this.pauseSandbox(decision.reason))
      await this.working
    } else {
      if (record && !record.paused && needsKeepAlive({ now, expiresAt, deadline: record.deadline })) {
        await this.keepSandboxAlive(record, now, expiresAt)
      }
      // A live link watches the agent itself (heartbeats); without one, ensureRunning probes and recovers.
      this.ensureRunning()
    }
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

  private provider(): SandboxProvider {
    return sandboxProvider(readSettings(this.env))
  }

  private saveSandbox(record: SandboxRecord | null) {
    this.update({ sandbox: record && JSON.stringify(record) })
  }

  private update(fields: Partial<SessionRow>) {
    this.row = updateRow(this.sql, 'session', this.row!, fields)
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
      queued: this.queue.waiting(),
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

  private tenantIndex(tenant = this.row!.tenant) {
    return this.env.TENANTS.get(this.env.TENANTS.idFromName(tenant))
  }

  private async syncIndex() {
    const index = this.tenantIndex()
    await index.upsert(this.summary()).catch((err: unknown) => log('warn', 'tenant index update failed', { err: errorMessage(err) }))
  }

  private emit(ev: PublicEvent) {
    this.log.append(ev)
    this.usage.observe(ev)
    if (ev.type === 'error') this.tellRun({ kind: 'error', code: ev.data.code, message: ev.data.message })
  }

  /** A background run's session reports to its run; an interactive one has no run to tell. */
  private tellRun(sig: RunSignal) {
    const runId = this.row && this.spec().runId
    if (!runId) return
    runStub(this.env, runId).signal(sig).catch((err: unknown) => log('warn', 'run signal failed', { runId, err: errorMessage(err) }))
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
    // The alarm may be set for a periodic check past the new deadline.
    void this.scheduleWake()
  }

  private async scheduleWake() {
    // A paused sandbox needs no looking after; a message or a keepalive resumes it.
    if (!this.row || this.isOver() || this.sandbox()?.paused) return this.ctx.storage.deleteAlarm()
    await this.ctx.storage.setAlarm(nextWakeAt(Date.now(), Date.parse(this.row.expires_at), this.pending.nextDeadline()))
  }

  // ---- requests waiting on a human ----

  private pendingDeadline(): number {
    const spec = this.spec()
    // Policy answers a run's requests up front; one that still asks is rejected almost at once.
    const seconds = spec.runId ? UNATTENDED_PENDING_SECONDS : (spec.pendingTimeoutSeconds ?? readSettings(this.env).pendingTimeoutSeconds)
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

  private lostResolution(kind: PendingKind, reason: string) {
    return kind === 'permission' ? { reply: 'reject', reason } : { rejected: true, reason }
  }

  private resolveAllPending(reason: string) {
    for (const p of this.pending.list()) this.resolvePending(p.kind, p.id, this.lostResolution(p.kind, reason))
  }

  /**
   * Makes our pending list match opencode's: requests it no longer has are resolved with
   * `reason`, requests we missed (during a gap in the stream) are announced.
   */
  private async syncPending(reason: string) {
    const client = this.agent()
    const translator = this.translator
    if (!client || !translator) return
    const [permissions, questions] = await Promise.all([client.permission.list(), client.question.list()])
    if (!permissions.data || !questions.data) return
    const open = new Set<string>()
    for (const p of permissions.data) {
      if (!translator.concerns({ type: 'permission.asked', properties: p } as AgentEvent)) continue
      open.add(p.id)
      if (!this.pending.has('permission', p.id)) this.onAgentEvent({ id: 'sync', type: 'permission.asked', properties: p } as AgentEvent)
    }
    for (const q of questions.data) {
      if (!translator.concerns({ type: 'question.asked', properties: q } as AgentEvent)) continue
      open.add(q.id)
      if (!this.pending.has('question', q.id)) this.onAgentEvent({ id: 'sync', type: 'question.asked', properties: q } as AgentEvent)
    }
    for (const p of this.pending.list()) {
      if (!open.has(p.id)) this.resolvePending(p.kind, p.id, this.lostResolution(p.kind, reason))
    }
  }

  /** Nobody answered in time: reject, so that no session waits forever. */
  private async expirePending() {
    const expired = this.pending.expired(Date.now())
    if (expired.length === 0) return
    const client = this.agent()
    const message = 'No one answered in time, so the request was rejected automatically.'
    for (const p of expired) {
      // Resolved first, so that opencode's echo of the rejection does not announce it without its reason.
      this.resolvePending(p.kind, p.id, this.lostResolution(p.kind, 'timeout'))
      if (!client) continue
      if (p.kind === 'permission') await client.permission.reply({ requestID: p.id, reply: 'reject', message }).catch(() => {})
      else await client.question.reject({ requestID: p.id }).catch(() => {})
    }
  }

  // ---- the queue and turns ----

  private enqueue(input: SendMessageInput): Outcome<SendMessageResult> {
    if (input.idempotencyKey) {
      const seen = this.queue.byIdempotencyKey(input.idempotencyKey)
      if (seen) return ok({ messageId: seen.id, queued: seen.state === 'queued', duplicate: true })
    }
    if (this.queue.waiting() >= MAX_QUEUED) {
      return fail('too_many_requests', `the session already has ${MAX_QUEUED} messages waiting`)
    }
    const id = `msg_${randomSecret(10)}`
    const now = new Date().toISOString()
    const pos = this.queue.add(id, input, now)
    this.conversation.addUser(id, pos, input.text, now)
    const queued = this.row!.status !== 'idle' || this.turn !== undefined
    this.emit(event('message.created', { messageId: id, role: 'user', text: input.text }))
    this.emit(event('message.completed', { messageId: id, role: 'user', text: input.text }))
    this.touch()
    this.pump()
    return ok({ messageId: id, queued, duplicate: false })
  }

  /** Drops every waiting message, answering whoever waits for one. */
  private dropQueued(reason: string): number {
    const dropped = this.queue.dropWaiting()
    for (const id of dropped) this.resolveWaiters(id, fail('conflict', reason))
    return dropped.length
  }

  /** Sends the next queued message when the agent is free; one turn at a time, in order. */
  private pump() {
    if (this.row?.status !== 'idle' || this.turn || !this.link || !this.translator) return
    const next = this.queue.next()
    if (!next) return
    this.queue.setState(next.id, 'running')
    this.startTurn(next, false)
    this.translator.pendingUserMessageId = next.id
    this.setStatus('busy')
    const spec = this.spec()
    this.agent()!
      .session.promptAsync({
        sessionID: this.row.agent_session_id!,
        parts: [{ type: 'text', text: next.text }],
        model: splitModel(next.model ?? spec.model),
        agent: next.agent ?? spec.agent,
        system: spec.instructions,
      })
      .then((res) => {
        if (res.error || !res.response.ok) {
          this.endTurn(next.id, 'agent_unreachable', `opencode refused the message (${res.response.status})`)
        }
      })
      .catch((err: unknown) => this.endTurn(next.id, 'agent_unreachable', `could not reach opencode: ${errorMessage(err)}`))
  }

  private startTurn(message: QueuedMessage, seenBusy: boolean) {
    this.turn = { messageId: message.id, pos: message.pos, seenBusy, aborted: false, usage: zeroUsage() }
  }

  /** Closes the running turn: records its outcome, answers whoever waits, and moves the queue on. */
  private endTurn(messageId: string, errorCode?: ErrorCode | 'interrupted', errorText?: string) {
    const turn = this.turn
    if (!turn || turn.messageId !== messageId) return
    if (errorCode === 'interrupted' && this.translator) {
      this.publish(this.translator.interruptOpen({ code: 'interrupted', message: errorText ?? 'interrupted' }))
    }
    this.turn = undefined
    this.queue.setState(messageId, turn.aborted ? 'aborted' : errorCode ? 'failed' : 'done')
    if (errorCode) this.emit(event('error', { code: errorCode, message: errorText ?? 'the turn failed' }))
    const reply: Reply = turn.reply ?? { messageId: null, text: '', usage: turn.usage }
    this.usage.turnEnded(messageId, turn.usage)
    this.tellRun({ kind: 'turn_done', text: reply.text })
    const failure = errorCode === 'interrupted' ? 'agent_unreachable' : errorCode
    this.resolveWaiters(
      messageId,
      failure ? fail(failure, errorText ?? 'the turn failed') : ok({ ...reply, usage: turn.usage }),
    )
    if (this.row && !this.isOver()) {
      // The agent's work counts as activity: a long turn's reply is not paused away the moment it ends.
      this.touch()
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

  // ---- the agent's events ----

  private onAgentEvent(ev: AgentEvent) {
    const translator = this.translator
    if (!translator || !translator.concerns(ev)) return
    if (this.fanout.wantsRaw && ev.id !== 'sync') this.fanout.publishRaw(JSON.stringify(ev))
    this.publish(translator.translate(ev))
    const turn = this.turn
    if (!turn || AgentEventTranslator.sessionOf(ev) !== translator.rootSessionId) return
    if (ev.type === 'session.status') {
      if (ev.properties.status.type === 'busy') turn.seenBusy = true
      else if (ev.properties.status.type === 'idle' && turn.seenBusy) this.endTurn(turn.messageId)
    } else if (ev.type === 'session.error' && !turn.seenBusy) {
      const { code, message } = describeAgentError(ev.properties.error as never)
      this.endTurn(turn.messageId, 'agent_unreachable', `${code}: ${message}`)
    }
  }

  private publish(events: PublicEvent[]) {
    for (const pub of events) {
      if (pub.type === 'permission.resolved') this.resolvePending('permission', pub.data.permissionId, { reply: pub.data.reply })
      else if (pub.type === 'question.resolved') this.resolvePending('question', pub.data.questionId, pub.data)
      else {
        this.emit(pub)
        this.track(pub)
      }
    }
  }

  /** Bookkeeping that follows from public events: conversation, usage, pending requests. */
  private track(pub: PublicEvent) {
    switch (pub.type) {
      case 'message.completed': {
        if (pub.data.role !== 'assistant') return
        const usage = pub.data.usage ?? zeroUsage()
        const total = addUsage({ inputTokens: this.row!.input_tokens, outputTokens: this.row!.output_tokens, cost: this.row!.cost }, usage)
        this.update({ input_tokens: total.inputTokens, output_tokens: total.outputTokens, cost: total.cost })
        void this.account.reportSpend()
        // opencode can finish an aborted message after the next turn began: file it under its own turn.
        const parent = pub.data.parentId
        const parts = this.translator?.partsOf(pub.data.messageId) ?? []
        this.conversation.recordAssistant(pub.data.messageId, parent ? this.queue.posOf(parent) : undefined, pub.data.text, parts)
        const turn = this.turn
        if (turn && parent === turn.messageId) {
          turn.usage = addUsage(turn.usage, usage)
          if (pub.data.text) turn.reply = { messageId: pub.data.messageId, text: pub.data.text, usage }
        }
        return
      }
      case 'session.updated':
        this.update({ title: pub.data.title })
        void this.syncIndex()
        return
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

  // ---- the sandbox and the link to its agent ----

  /** A client for the running agent, or nothing when there is none. */
  private agent(): OpencodeClient | undefined {
    const record = this.sandbox()
    if (!record || !this.link) return undefined
    return agentClient(record.endpoint, record.password, record.workdir)
  }

  /** Brings the session to where it should be: a sandbox, an agent, a live link. Idempotent. */
  private ensureRunning() {
    if (!this.row || this.isOver() || this.working) return
    const record = this.sandbox()
    if (record && this.link) return
    if ((!record || record.paused) && !wantsSandbox({ now: Date.now(), expiresAt: Date.parse(this.row.expires_at), hasWork: this.queue.waiting() > 0 })) return
    this.runWork(() => (!record ? this.provision() : record.paused ? this.resumeSandbox(record) : this.recover('reconnecting')))
    void this.scheduleWake()
  }

  /** Provisioning, pausing and recovery run one at a time; messages still waiting afterwards get a sandbox. */
  private runWork(work: () => Promise<unknown>) {
    if (this.working) return
    this.working = work().finally(() => {
      this.working = undefined
      if (this.row && !this.isOver() && this.queue.waiting() > 0) this.ensureRunning()
    })
  }

  private async provision() {
    const row = this.row!
    const spec = this.spec()
    if (row.status !== 'starting') this.setStatus('starting', 'starting a new sandbox')
    this.sandboxState('starting')
    try {
      const provider = this.provider()
      const secrets = await openSecrets(this.env.SECRETS_KEY, row.secrets)
      const record = (await this.takeWarmSandbox(spec, secrets)) ?? (await this.newSandbox(spec, secrets))
      this.saveSandbox(record)
      if (this.isOver()) return void (await provider.kill(record.sandboxId).catch(() => {}))
      await waitForOpencode(record.endpoint, record.password)
      // The link holds events until release(), so it opens while the agent session is made.
      const [agentSessionId] = await Promise.all([this.agentSession(record, row.title), this.openLink(record)])
      this.update({ agent_session_id: agentSessionId })
      this.translator = this.newTranslator(agentSessionId, record.workdir)
      this.link?.release()
      this.sandboxState('ready')
      // The idle clock starts once the session can take a message, not while its sandbox boots.
      this.touch()
      this.setStatus('idle')
      this.pump()
    } catch (err) {
      await this.failSession(err)
    }
  }

  /** The opencode session this session talks to: the warm sandbox's own, or a new one. */
  private async agentSession(record: SandboxRecord, title: string | null): Promise<string> {
    const client = agentClient(record.endpoint, record.password, record.workdir)
    if (record.agentSessionId) {
      if (title) await client.session.update({ sessionID: record.agentSessionId, title })
      return record.agentSessionId
    }
    const created = await client.session.create({ title: title ?? undefined })
    if (!created.data) throw new AgentUnreachableError('opencode did not create a session')
    return created.data.id
  }

  /** A ready sandbox from the warm pool, when the session needs nothing of its own in it. */
  private async takeWarmSandbox(spec: SessionSpec, secrets: SessionSecrets): Promise<SandboxRecord | null> {
    const settings = readSettings(this.env)
    if (settings.warmPoolSize === 0 || !canUseWarmSandbox(spec, secrets.env, settings.defaultModel, secrets.modelKeys)) return null
    const pool = this.env.POOL.get(this.env.POOL.idFromName(POOL_NAME))
    const warm = await pool.take(settingsFingerprint(settings), this.row!.id).catch((err: unknown) => {
      log('warn', 'warm pool unavailable', { err: errorMessage(err) })
      return null
    })
    if (!warm) return null
    // From now on the warm sandbox's gateway token speaks for this session.
    this.update({ gateway_digest: warm.gatewayDigest })
    this.sandboxState('starting', 'warm')
    return warm
  }

  private async newSandbox(spec: SessionSpec, secrets: SessionSecrets): Promise<SandboxRecord> {
    const settings = readSettings(this.env)
    const password = randomSecret()
    const gateway = await newGatewayToken(this.row!.id)
    // A new sandbox's token replaces the last one's: a lost sandbox can no longer spend.
    this.update({ gateway_digest: gateway.digest })
    const plan = {
      ...sandboxPlan(
        settings,
        spec,
        secrets.env,
        password,
        { sessionId: this.row!.id },
        { url: spec.gatewayUrl ?? `${settings.publicUrl}/v1/gateway`, token: gateway.token },
        Object.keys(secrets.modelKeys ?? {}),
      ),
      repoToken: secrets.repoToken,
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const createdAt = Date.now()
        const provisioned = await provisionSandbox(this.provider(), plan, (step) => this.sandboxState('starting', step))
        return { ...provisioned, password, deadline: createdAt + settings.e2b.timeoutMs }
      } catch (err) {
        const next = provisionRetry(err instanceof SandboxError && err.transient, attempt)
        if (!next.retry) throw err
        this.sandboxState('starting', `retrying after: ${errorMessage(err)}`)
        await sleep(next.delayMs)
      }
    }
  }

  private newTranslator(agentSessionId: string, workdir: string): AgentEventTranslator {
    const translator = new AgentEventTranslator(agentSessionId, workdir)
    translator.knowTitle(this.row!.title)
    translator.onUserMessage = (agentId, publicId) => this.queue.setAgentMessageId(publicId, agentId)
    return translator
  }

  /**
   * A translator for an agent session this object followed before it restarted: it must not
   * complete again what clients saw completed, nor stream again text they already have.
   */
  private restoredTranslator(agentSessionId: string, workdir: string): AgentEventTranslator {
    const translator = this.newTranslator(agentSessionId, workdir)
    const streamed = this.sql
      .exec<{ messageId: string; partId: string; kind: 'text' | 'reasoning'; length: number }>(
        `SELECT json_extract(data, '$.messageId') AS messageId, json_extract(data, '$.partId') AS partId,
                json_extract(data, '$.kind') AS kind, SUM(length(json_extract(data, '$.text'))) AS length
         FROM events WHERE type = 'message.delta' AND seq > ? GROUP BY partId`,
        this.log.lastSeq - RESTORE_WINDOW,
      )
      .toArray()
    translator.restore({ completed: this.conversation.assistantIds(), streamed, userIds: this.queue.agentMessageIds() })
    return translator
  }

  private async openLink(record: SandboxRecord) {
    const link: AgentLink = new AgentLink(
      agentClient(record.endpoint, record.password, record.workdir),
      (ev) => this.onAgentEvent(ev),
      (end) => this.onLinkEnd(link, end),
    )
    await link.open()
    this.link = link
  }

  private onLinkEnd(link: AgentLink, end: LinkEnd) {
    if (this.link !== link) return
    this.link = undefined
    link.close()
    if (this.isOver()) return
    log('warn', 'agent stream ended', { sessionId: this.row?.id, reason: end.reason })
    this.runWork(() => this.recover(`the agent event stream ${end.reason === 'silent' ? 'went silent' : 'ended'}`))
  }

  private async probe(record: SandboxRecord): Promise<SandboxProbe> {
    const agentHealthy = await waitForOpencode(record.endpoint, record.password, { timeoutMs: 2_000 }).then(
      () => true,
      () => false,
    )
    if (agentHealthy) return { agentHealthy, sandbox: 'running' }
    const sandbox = await this.provider()
      .status(record.sandboxId)
      .catch(() => 'unknown' as const)
    return { agentHealthy, sandbox }
  }

  /**
   * The link to the agent is gone (its stream ended, a health check failed, or this object
   * restarted): find out why, and reconnect, restart the agent, or give the sandbox up.
   */
  private async recover(reason: string): Promise<RecoveryAction['action']> {
    const record = this.sandbox()
    if (!record) return 'replace_sandbox'
    try {
      for (let attempt = 1; ; attempt++) {
        const decision = recoveryDecision(await this.probe(record), attempt)
        if (decision.action === 'retry') await sleep(decision.delayMs)
        else if (decision.action === 'resume') await this.provider().resume(record.sandboxId, this.sandboxTimeout())
        else if (decision.action === 'replace_sandbox') await this.loseSandbox(reason)
        else if (decision.action === 'restart_agent') await this.restartAgent(record, reason)
        else await this.reattach(record, false)
        if (decision.action !== 'retry' && decision.action !== 'resume') return decision.action
      }
    } catch (err) {
      await this.loseSandbox(`${reason}; recovery failed: ${errorMessage(err)}`)
      return 'replace_sandbox'
    }
  }

  private sandboxTimeout(): number {
    return sandboxTimeoutMs(Date.now(), Date.parse(this.row!.expires_at))
  }

  /** Idle: the sandbox stops where it stands, for the next message to resume it as it was. */
  private async pauseSandbox(reason: string) {
    const record = this.sandbox()
    if (!record || record.paused) return
    this.link?.close()
    this.link = undefined
    // Recorded first: a pause cut short leaves a sandbox that the resume finds running, which is fine.
    this.saveSandbox({ ...record, paused: true })
    try {
      await this.provider().pause(record.sandboxId)
    } catch (err) {
      if (err instanceof SandboxError && err.code === 'not_found') return this.loseSandbox('the sandbox was gone when it was to be paused')
      log('warn', 'sandbox pause failed', { sessionId: this.row?.id, err: errorMessage(err) })
    }
    this.sandboxState('paused', reason)
  }

  /** Brings a paused sandbox back, then checks its agent as after any gap: reconnect, restart, or replace. */
  private async resumeSandbox(record: SandboxRecord) {
    this.sandboxState('starting', 'resuming')
    const timeoutMs = this.sandboxTimeout()
    try {
      await this.provider().resume(record.sandboxId, timeoutMs)
    } catch (err) {
      const gone = err instanceof SandboxError && err.code === 'not_found'
      return this.loseSandbox(gone ? 'the paused sandbox is gone' : `the paused sandbox could not be resumed: ${errorMessage(err)}`)
    }
    this.saveSandbox({ ...record, paused: false, deadline: Date.now() + timeoutMs })
    await this.scheduleWake()
    if ((await this.recover('resumed')) === 'resubscribe') this.sandboxState('ready', 'resumed')
  }

  /** Keeps the provider from ending a sandbox the session still wants (E2B ends it at its timeout). */
  private async keepSandboxAlive(record: SandboxRecord, now: number, expiresAt: number) {
    const timeoutMs = sandboxTimeoutMs(now, expiresAt)
    try {
      await this.provider().keepAlive(record.sandboxId, timeoutMs)
    } catch (err) {
      // A sandbox that is gone shows when its agent stops answering; recovery handles it there.
      return log('warn', 'sandbox keepalive failed', { sessionId: this.row?.id, err: errorMessage(err) })
    }
    const current = this.sandbox()
    if (current?.sandboxId === record.sandboxId) this.saveSandbox({ ...current, deadline: now + timeoutMs })
  }

  /** opencode died in a live sandbox: start it again on the same workspace and carry on. */
  private async restartAgent(record: SandboxRecord, reason: string) {
    this.sandboxState('restarting', reason)
    const endpoint = await this.provider().startOpencode(record.sandboxId, { cwd: record.workdir })
    const restarted = { ...record, endpoint }
    this.saveSandbox(restarted)
    await waitForOpencode(endpoint, record.password)
    await this.reattach(restarted, true)
    this.sandboxState('ready', 'agent restarted')
  }

  /**
   * Opens a new link to an agent and brings the session back in line with it: what clients
   * missed during the gap is emitted from opencode's own record, requests it forgot are
   * resolved as lost, and a turn it is no longer running is closed.
   */
  private async reattach(record: SandboxRecord, agentRestarted: boolean) {
    const client = agentClient(record.endpoint, record.password, record.workdir)
    let agentSessionId = this.row!.agent_session_id!
    if (!(await client.session.get({ sessionID: agentSessionId })).data) {
      const created = await client.session.create({ title: this.row!.title ?? undefined })
      if (!created.data) throw new AgentUnreachableError('opencode did not create a session')
      agentSessionId = created.data.id
      this.update({ agent_session_id: agentSessionId })
    }
    if (this.translator?.rootSessionId !== agentSessionId) this.translator = this.restoredTranslator(agentSessionId, record.workdir)
    await this.openLink(record)
    const [messages, statuses] = await Promise.all([
      client.session.messages({ sessionID: agentSessionId, limit: RESYNC_MESSAGES }),
      client.session.status(),
    ])
    this.publish(this.translator.applySnapshot(snapshotEvents(agentSessionId, messages.data ?? [])))
    await this.syncPending('lost')
    const running = this.queue.running()
    if (running && !this.turn) this.startTurn(running, true)
    const turn = this.turn
    if (turn && agentRestarted) this.endTurn(turn.messageId, 'interrupted', 'the agent stopped in the middle of this turn')
    this.link?.release()
    // Held events may have ended the turn already (and started the next): only a turn still ours is settled here.
    if (turn && this.turn === turn) {
      if (statuses.data?.[agentSessionId]?.type === 'busy') turn.seenBusy = true
      // A turn not yet seen running may simply not have reached opencode: its own events will settle it.
      else if (turn.seenBusy || turn.reply) this.endTurn(turn.messageId)
    }
    if (!this.turn && this.row!.status !== 'idle') this.setStatus('idle')
    this.pump()
  }

  /** The sandbox is gone: say so, fail the running turn, and start afresh on the next message. */
  private async loseSandbox(reason: string) {
    const record = this.sandbox()
    this.link?.close()
    this.link = undefined
    this.saveSandbox(null)
    this.update({ agent_session_id: null })
    this.resolveAllPending('lost')
    this.sandboxState('lost', reason)
    if (record) await this.provider().kill(record.sandboxId).catch(() => {})
    const running = this.queue.running()
    if (running && !this.turn) this.startTurn(running, true)
    if (this.turn) this.endTurn(this.turn.messageId, 'interrupted', `the turn was lost: ${reason}`)
    else if (this.row!.status !== 'idle') this.setStatus('idle')
    this.translator = undefined
  }

  private async stopSandbox(state: SandboxState, reason: string) {
    const record = this.sandbox()
    this.link?.close()
    this.link = undefined
    this.translator = undefined
    if (!record) return
    this.saveSandbox(null)
    this.update({ agent_session_id: null })
    await this.provider()
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
    this.tellRun({ kind: 'session_failed', code, message })
    await this.finish('failed', message)
  }

  /** Ends the session for good: the sandbox goes, queued messages are dropped, streams close. */
  private async finish(status: 'ended' | 'failed', reason: string) {
    this.setStatus(status, reason)
    // Nothing will need them again: an ended session keeps no secrets, not even sealed, and its
    // sandbox's gateway token dies with it.
    this.update({ secrets: null, gateway_digest: null })
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
  if (err instanceof AgentUnreachableError || err instanceof AgentStreamError) return { code: 'agent_unreachable', message: err.message }
  return { code: 'internal_error', message: errorMessage(err) }
}
