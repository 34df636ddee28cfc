import { DurableObject } from 'cloudflare:workers'
import { sessionStub, type AgentAccess, type PreviewAccess, type SessionRpc } from '../durable-objects'
import type { Bindings } from '../env'
import { ERROR_STATUS, fail, ok, type Outcome } from '../lib/errors'
import type { CallEnd, CallGrant, PaidCall } from '../gateway/spend'
import type { CheckpointList, ConversationMessage, CreateSessionInput, PermissionAnswer, PermissionResolved, QuestionAnswer, QuestionResolved, RuntimeFeature, SendMessageInput, SendMessageResult, SessionView } from '../contracts'
import { forkOf, openFork, openSession, retitle } from './opening'
import { lacks, messageRefusal } from './runtime-features'
import { composeSession, type SessionParts } from './compose'
import { quietFor } from './activity'
import { MAX_STREAMS, type Subscription } from './log/fanout'
import type { ForkInput } from './history/fork-copy'
import type { History } from './history/undo'
import { wakeReason } from './sandbox/rules'
import type { Workspace } from './sandbox/workspace'

/**
 * One session. Its parts are built once by ./compose: the row (./store), the event log and its
 * fan-out to clients (./log), the turns and their queue (./turns), the agent's events, its
 * connection and the requests waiting on a human (./agent), the sandbox's life (./sandbox).
 * Each RPC checks the caller's tenant and hands the call to one of them.
 */
export class SessionDO extends DurableObject<Bindings> implements SessionRpc {
  private readonly p: SessionParts

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.p = composeSession(ctx, env)
    if (this.p.store.exists && this.p.store.isOver()) this.p.fanout.end()
  }

  // ---- RPC surface (called by the Worker's routes) ----

  async create(input: CreateSessionInput): Promise<Outcome<SessionView>> {
    if (this.p.store.exists) return ok(this.view())
    const opened = await openSession(this.p, this.env.SECRETS_KEY, input)
    return opened.ok ? ok(this.view()) : opened
  }

  async fork(tenant: string, id: string, from: { messageId?: string; checkpoint?: number }): Promise<Outcome<SessionView>> {
    return this.p.store.owns(tenant) ? forkOf(this.p, id, from, (input) => sessionStub(this.env, id).createFork(input)) : notFound()
  }

  async createFork(input: ForkInput): Promise<Outcome<SessionView>> {
    if (this.p.store.exists) return fail('conflict', 'this session exists already')
    const opened = await openFork(this.p, input)
    return opened.ok ? ok(this.view()) : opened
  }

  async get(tenant: string): Promise<Outcome<SessionView>> {
    if (!this.p.store.owns(tenant)) return notFound()
    this.p.lifecycle.ensureRunning()
    return ok(this.view())
  }

  async send(tenant: string, input: SendMessageInput, waitMs?: number): Promise<Outcome<SendMessageResult>> {
    if (!this.p.store.owns(tenant)) return notFound()
    if (this.p.store.isOver()) return fail('conflict', `the session is ${this.p.store.row.status} and takes no more messages`)
    const refused = messageRefusal(this.p.store.spec(), input)
    if (refused) return refused
    const budget = await this.p.account.budget()
    if (!budget.ok) return fail('budget_exceeded', budget.reason)
    const accepted = this.p.turns.enqueue(input)
    if (!accepted.ok) return accepted
    if (!accepted.value.duplicate) this.p.history.settle()
    this.p.lifecycle.ensureRunning('message')
    const result = accepted.value
    if (waitMs === undefined) return ok(result)
    const reply = await this.p.turns.waitForReply(result.messageId, waitMs)
    return reply.ok ? ok({ ...result, reply: reply.value }) : reply
  }

  async stageFile(tenant: string, upload: string, file: number, chunk: number, bytes: Uint8Array): Promise<Outcome<null>> {
    if (!this.p.store.owns(tenant)) return notFound()
    this.p.queue.stage(upload, file, chunk, bytes)
    return ok(null)
  }
  async dropUpload(tenant: string, upload: string): Promise<void> {
    if (this.p.store.owns(tenant)) this.p.queue.dropUpload(upload)
  }
  async messages(tenant: string): Promise<Outcome<ConversationMessage[]>> {
    return this.p.store.owns(tenant) ? ok(this.p.conversation.list()) : notFound()
  }
  async keyProviders(tenant: string): Promise<Outcome<string[]>> {
    return this.p.store.owns(tenant) ? ok(this.p.store.spec().keyProviders ?? []) : notFound()
  }

  async events(tenant: string, after: number, raw: boolean): Promise<Outcome<Subscription>> {
    if (!this.p.store.owns(tenant)) return notFound()
    const opened = await this.p.fanout.subscribeMakingRoom(after, { raw })
    if (!opened) return fail('too_many_requests', `this session already serves ${MAX_STREAMS} event streams; close one first`)
    this.p.lifecycle.ensureRunning()
    return ok(opened)
  }
  /** The Worker serving stream `id` saw its client hang up. */
  async streamHungUp(id: number): Promise<void> {
    this.p.fanout.hungUp(id)
  }

  async keepalive(tenant: string): Promise<Outcome<{ expiresAt: string }>> {
    if (!this.p.store.owns(tenant)) return notFound()
    if (this.p.store.isOver()) return fail('conflict', `the session is ${this.p.store.row.status}`)
    this.p.signals.touch()
    await this.p.lifecycle.keepalive()
    return ok({ expiresAt: this.p.store.row.expires_at })
  }

  async end(tenant: string): Promise<Outcome<SessionView>> {
    if (!this.p.store.owns(tenant)) return notFound()
    if (!this.p.store.isOver()) await this.p.ending.finish('ended', 'deleted')
    return ok(this.view())
  }

  async answerPermission(tenant: string, permissionId: string, answer: PermissionAnswer): Promise<Outcome<PermissionResolved>> {
    if (!this.p.store.owns(tenant)) return notFound()
    const answered = await this.p.human.answer({ kind: 'permission', id: permissionId, ...answer })
    return answered.ok ? ok({ permissionId, reply: answer.reply }) : answered
  }

  async answerQuestion(tenant: string, questionId: string, answer: QuestionAnswer): Promise<Outcome<QuestionResolved>> {
    if (!this.p.store.owns(tenant)) return notFound()
    const refused = lacks(this.p.store.spec(), 'questions')
    if (refused) return refused
    const answered = await this.p.human.answer({ kind: 'question', id: questionId, ...answer })
    return answered.ok ? ok({ questionId, ...answered.value }) : answered
  }

  async abort(tenant: string, clearQueue: boolean): Promise<Outcome<{ aborted: boolean; dropped: number }>> {
    if (!this.p.store.owns(tenant)) return notFound()
    if (this.p.store.isOver()) return fail('conflict', `the session is ${this.p.store.row.status}`)
    return ok(await this.p.turns.abort(clearQueue))
  }

  async rename(tenant: string, title: string): Promise<Outcome<SessionView>> {
    if (!this.p.store.owns(tenant)) return notFound()
    await retitle(this.p, title)
    return ok(this.view())
  }

  async revert(tenant: string, messageId: string): Promise<Outcome<SessionView>> {
    return this.undo(tenant, (history) => history.revert(messageId))
  }

  async unrevert(tenant: string): Promise<Outcome<SessionView>> {
    return this.undo(tenant, (history) => history.unrevert())
  }

  async diff(tenant: string) {
    return this.inWorkspace(tenant, (w) => w.diff(), 'diff')
  }

  async workspacePatch(tenant: string): Promise<Outcome<string>> {
    return this.inWorkspace(tenant, (w) => w.patch())
  }
  async workspaceChanges(tenant: string) {
    return this.inWorkspace(tenant, (w) => w.changes())
  }
  async readFile(tenant: string, path: string) {
    return this.inWorkspace(tenant, (w) => w.readFile(path))
  }

  async checkpointList(tenant: string): Promise<Outcome<CheckpointList>> {
    return this.p.store.owns(tenant) ? ok(this.p.checkpoints.list()) : notFound()
  }
  async checkpointPatch(tenant: string, n: number): Promise<Outcome<Uint8Array>> {
    return this.p.store.owns(tenant) ? this.p.checkpoints.patch(n) : notFound()
  }

  async restoreCheckpoint(tenant: string, n: number): Promise<Outcome<SessionView>> {
    if (!this.p.store.owns(tenant)) return notFound()
    await this.p.lifecycle.awake()
    const quiet = quietFor('restore', this.p.activity, this.p.store)
    if (!quiet.ok) return quiet
    const done = await this.p.checkpoints.rollBack(n, this.p.store.spec().repo !== undefined)
    return done.ok ? ok(this.view()) : done
  }

  // ---- the model gateway (called by the Worker's gateway route, never by a client) ----

  /**
   * Whether a call from this session's sandbox may go on to `provider`, and with which key: the
   * token must be the current sandbox's, the session open, and the budget not spent.
   */
  async gatewayGrant(digest: string, provider: string, call?: PaidCall): Promise<Outcome<CallGrant>> {
    return this.p.store.exists ? this.p.account.grant(digest, provider, call) : fail('unauthorized', 'not a valid gateway token')
  }

  /** What one granted call used, as the provider's answer said; it counts even if the session ended since. */
  async gatewayReport(provider: string, reservation: string | null, end: CallEnd): Promise<void> {
    if (this.p.store.exists) await this.p.account.report(provider, reservation, end)
  }

  async agentAccess(tenant: string): Promise<Outcome<AgentAccess>> {
    return this.p.access.agent(tenant)
  }

  async previewAccess(tenant: string, port: number): Promise<Outcome<PreviewAccess>> {
    return this.p.access.preview(tenant, port)
  }

  // ---- terminals: WebSockets the Worker's terminal route forwards (SessionRpc.fetch) ----

  override async fetch(request: Request): Promise<Response> {
    const outcome = await this.p.access.terminal(request)
    return outcome.ok ? outcome.value : Response.json({ error: outcome.error }, { status: ERROR_STATUS[outcome.error.code] })
  }
  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.p.terminals.message(socket, message)
  }
  override async webSocketClose(socket: WebSocket): Promise<void> {
    this.p.terminals.closed(socket)
  }
  override async webSocketError(socket: WebSocket): Promise<void> {
    this.p.terminals.closed(socket)
  }

  override async alarm(): Promise<void> {
    await this.p.signals.holdWake()
    if (this.p.store.exists) await this.p.account.settleStale(Date.now())
    await this.p.usage.onAlarm()
    await this.p.wakes[wakeReason(this.p.signals.nextWake(), Date.now())]()
  }

  // ---- the session's own state ----

  /** The workspace, read for a caller of this tenant (`feature`: what the runtime must offer); a paused sandbox is resumed to read it. */
  private async inWorkspace<T>(tenant: string, read: (workspace: Workspace) => Promise<Outcome<T>>, feature?: RuntimeFeature): Promise<Outcome<T>> {
    if (!this.p.store.owns(tenant)) return notFound()
    const refused = feature && lacks(this.p.store.spec(), feature)
    if (refused) return refused
    await this.p.lifecycle.awake()
    return read(this.p.workspace)
  }

  /** An undo or its redo, with the sandbox awake (opencode restores the files). */
  private async undo(tenant: string, change: (history: History) => Promise<Outcome<unknown>>): Promise<Outcome<SessionView>> {
    if (!this.p.store.owns(tenant)) return notFound()
    const refused = lacks(this.p.store.spec(), 'revert')
    if (refused) return refused
    await this.p.lifecycle.awake()
    const done = await change(this.p.history)
    return done.ok ? ok(this.view()) : done
  }

  private view(): SessionView {
    return this.p.store.view({ lastEventId: this.p.log.lastSeq, queued: this.p.queue.waiting(), pending: this.p.human.view() })
  }
}

const notFound = (): Outcome<never> => fail('not_found', 'no such session')
