import { DurableObject } from 'cloudflare:workers'
import { sessionStub, type SessionRpc } from '../durable-objects'
import type { Bindings } from '../env'
import { describeFailure } from './failure'
import { fail, ok, type Outcome } from '../lib/errors'
import { errorMessage, log } from '../lib/log'
import type { CallEnd, CallGrant, PaidCall } from '../gateway/spend'
import type { SandboxProvider } from '../sandbox/provider'
import { sandboxProvider } from '../sandbox/select'
import { readSettings, type Settings } from '../settings'
import { SessionUsage } from '../tenant/usage-report'
import { AgentConnection } from './agent-connection'
import { AgentEvents } from './agent-events'
import { event, type ConversationMessage, type CreateSessionInput, type PermissionAnswer, type PermissionResolved, type QuestionAnswer, type QuestionResolved, type SendMessageInput, type SendMessageResult, type SessionSpec, type SessionView } from '../contracts'
import { admit, type Admitted } from './admission'
import { Conversation } from './conversation'
import { Ending } from './ending'
import { EventLog } from './event-log'
import { Fanout, MAX_STREAMS, type Subscription } from './fanout'
import { Forks } from './fork'
import type { ForkInput } from './fork-history'
import { GatewayAccount } from './gateway-account'
import { History } from './history'
import { HumanRequests, pendingSeconds } from './human-requests'
import { wakeReason } from './lifecycle'
import { PendingRequests } from './pending'
import { promptFor } from './prompt'
import { withFiles } from './message-files'
import { MessageQueue } from './queue'
import { SandboxLifecycle } from './sandbox-lifecycle'
import { SandboxSource } from './sandbox-source'
import { migrate } from './schema'
import { sealSecrets } from './secrets'
import { SessionStore } from './session-store'
import { Signals } from './signals'
import { Turns } from './turns'
import { wakeHandlers, type WakeHandlers } from './wakes'
import { Workspace } from './workspace'

/**
 * One session. It builds its parts once: the row (./session-store), the event log and its
 * fan-out to clients, the turns and their queue (./turns), the requests waiting on a human
 * (./human-requests), the agent's events (./agent-events), the connection to the agent
 * (./agent-connection) and the sandbox's life (./sandbox-lifecycle). Each RPC checks the caller's
 * tenant and hands the call to one of them.
 */
export class SessionDO extends DurableObject<Bindings> implements SessionRpc {
  private readonly settings: Settings
  private readonly provider: SandboxProvider
  private readonly store: SessionStore
  private readonly log: EventLog
  private readonly fanout: Fanout
  private readonly queue: MessageQueue
  private readonly conversation: Conversation
  private readonly usage: SessionUsage
  private readonly signals: Signals
  private readonly account: GatewayAccount
  private readonly human: HumanRequests
  private readonly turns: Turns
  private readonly agentEvents: AgentEvents
  private readonly connection: AgentConnection
  private readonly lifecycle: SandboxLifecycle
  private readonly source: SandboxSource
  private readonly workspace: Workspace
  private readonly history: History
  private readonly forks: Forks
  private readonly ending: Ending
  private readonly wakes: WakeHandlers

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    const sql = ctx.storage.sql
    migrate(sql)
    this.settings = readSettings(env)
    this.provider = sandboxProvider(this.settings)
    const store = (this.store = new SessionStore(sql))
    this.log = new EventLog(ctx.storage, () => store.maybe?.id ?? '', (events) => this.fanout.publishAll(events))
    this.fanout = new Fanout(this.log, this.settings.timings.pingMs)
    const pending = new PendingRequests(sql)
    this.queue = new MessageQueue(sql)
    this.conversation = new Conversation(sql)
    this.usage = new SessionUsage(sql, env, () => store.maybe, () => void this.signals.scheduleWake())
    const signals = (this.signals = new Signals({
      env,
      settings: this.settings,
      storage: ctx.storage,
      store,
      log: this.log,
      usage: this.usage,
      pending,
      busy: () => this.busy,
    }))
    this.account = new GatewayAccount({
      env,
      row: () => store.row,
      update: (fields) => store.update(fields),
      limits: () => store.spec().limits,
      isOver: () => store.isOver(),
      sql,
      signals,
      usage: this.usage,
    })
    this.human = new HumanRequests({
      pending,
      sink: signals,
      agent: () => this.connection.agent(),
      deadline: () => Date.now() + pendingSeconds(store.spec(), this.settings.pendingTimeoutSeconds) * 1000,
      concerns: (ev) => this.agentEvents.concerns(ev),
      announce: (ev) => this.agentEvents.onAgentEvent(ev),
      scheduleWake: () => signals.scheduleWake(),
    })
    this.turns = new Turns({
      queue: this.queue,
      conversation: this.conversation,
      signals,
      status: () => store.row.status,
      isOver: () => store.isOver(),
      held: () => this.forks.copying,
      agent: () => this.connection.agent(),
      promptFor: (message) => withFiles(this.queue, this.provider, store.sandbox(), message.id, (files) => promptFor(message, store.spec(), files)),
      prompting: (messageId) => this.agentEvents.prompting(messageId),
      interrupted: (error) => this.agentEvents.interruptOpen(error),
      ended: (messageId, reply, structured) => {
        this.usage.turnEnded(messageId)
        signals.tellRun({ kind: 'turn_done', text: reply.text, ...(structured !== undefined && { structured }) })
      },
      aborted: () => void this.human.sync('turn aborted').catch((err: unknown) => log('warn', 'pending sync failed', { err: errorMessage(err) })),
    })
    this.agentEvents = new AgentEvents({
      sql,
      log: this.log,
      fanout: this.fanout,
      store,
      signals,
      queue: this.queue,
      conversation: this.conversation,
      human: this.human,
      turns: this.turns,
      spent: (messageId, usage) => (this.usage.opencodeCounted(messageId, usage), void this.account.reportSpend()),
    })
    this.connection = new AgentConnection({
      store,
      signals,
      events: this.agentEvents,
      turns: this.turns,
      human: this.human,
      timings: this.settings.timings,
      dropped: (end) => this.lifecycle.dropped(end),
      agentExit: (sandboxId, signal) => this.provider.agentExit(sandboxId, signal),
    })
    this.source = new SandboxSource({ env, settings: this.settings, provider: this.provider, store, signals })
    this.lifecycle = new SandboxLifecycle({
      secretsKey: env.SECRETS_KEY,
      provider: this.provider,
      store,
      signals,
      queue: this.queue,
      turns: this.turns,
      human: this.human,
      events: this.agentEvents,
      connection: this.connection,
      source: this.source,
      settings: this.settings,
      watchers: () => this.fanout.size,
      fail: (err) => this.ending.fail(err),
    })
    this.workspace = new Workspace(store, this.provider, this.connection)
    this.history = new History({
      store,
      queue: this.queue,
      conversation: this.conversation,
      signals,
      busy: () => this.turns.running || this.queue.waiting() > 0 || store.row.status !== 'idle' || this.forks.copying,
      agent: () => this.connection.agent(),
    })
    this.forks = new Forks({
      sql,
      secretsKey: env.SECRETS_KEY,
      store,
      signals,
      source: this.source,
      connection: this.connection,
      busy: () => this.busy,
    })
    this.ending = new Ending({
      storage: ctx.storage,
      store,
      signals,
      lifecycle: this.lifecycle,
      turns: this.turns,
      human: this.human,
      fanout: this.fanout,
    })
    this.wakes = wakeHandlers({ store, signals, ending: this.ending, lifecycle: this.lifecycle, human: this.human })
    if (store.exists && store.isOver()) this.fanout.end()
  }

  // ---- RPC surface (called by the Worker's routes) ----

  async create(input: CreateSessionInput): Promise<Outcome<SessionView>> {
    if (this.store.exists) return ok(this.view())
    const spec: SessionSpec = { ...input.spec, model: input.spec.model ?? this.settings.defaultModel }
    const opened = { env: input.secrets, repoToken: input.repoToken, modelKeys: input.modelKeys }
    const admitted = await this.source.whileAdmitting(input.id, spec, opened, async () =>
      this.admit({ id: input.id, tenant: input.tenant, title: input.title ?? null, spec, secrets: await sealSecrets(this.env.SECRETS_KEY, opened) }),
    )
    if (!admitted.ok) return admitted
    if (input.prompt) this.turns.enqueue({ text: input.prompt })
    // Admission listed the session with its tenant as it is now: nothing to sync before the start.
    this.lifecycle.ensureRunning()
    return ok(this.view())
  }

  async fork(tenant: string, id: string, messageId?: string): Promise<Outcome<SessionView>> {
    if (!this.store.owns(tenant)) return notFound()
    await this.lifecycle.awake()
    return this.forks.copy(id, messageId, (input) => sessionStub(this.env, id).createFork(input), () => this.turns.pump())
  }

  async createFork(input: ForkInput): Promise<Outcome<SessionView>> {
    if (this.store.exists) return fail('conflict', 'this session exists already')
    const admitted = await this.admit(input)
    if (!admitted.ok) return admitted
    await this.signals.syncIndex()
    try {
      await this.lifecycle.hold(() => this.forks.adopt(input))
    } catch (err) {
      await this.ending.fail(err)
      return fail('sandbox_unavailable', `the sandbox could not be copied: ${describeFailure(err).message}`)
    }
    return ok(this.view())
  }

  async get(tenant: string): Promise<Outcome<SessionView>> {
    if (!this.store.owns(tenant)) return notFound()
    this.lifecycle.ensureRunning()
    return ok(this.view())
  }

  async send(tenant: string, input: SendMessageInput, waitMs?: number): Promise<Outcome<SendMessageResult>> {
    if (!this.store.owns(tenant)) return notFound()
    if (this.store.isOver()) return fail('conflict', `the session is ${this.store.row.status} and takes no more messages`)
    const budget = await this.account.budget()
    if (!budget.ok) return fail('budget_exceeded', budget.reason)
    const accepted = this.turns.enqueue(input)
    if (!accepted.ok) return accepted
    if (!accepted.value.duplicate) this.history.settle()
    this.lifecycle.ensureRunning('message')
    const result = accepted.value
    if (waitMs === undefined) return ok(result)
    const reply = await this.turns.waitForReply(result.messageId, waitMs)
    return reply.ok ? ok({ ...result, reply: reply.value }) : reply
  }

  async stageFile(tenant: string, upload: string, file: number, chunk: number, bytes: Uint8Array): Promise<Outcome<null>> {
    if (!this.store.owns(tenant)) return notFound()
    this.queue.stage(upload, file, chunk, bytes)
    return ok(null)
  }
  async dropUpload(tenant: string, upload: string): Promise<void> {
    if (this.store.owns(tenant)) this.queue.dropUpload(upload)
  }
  async messages(tenant: string): Promise<Outcome<ConversationMessage[]>> {
    return this.store.owns(tenant) ? ok(this.conversation.list()) : notFound()
  }
  async keyProviders(tenant: string): Promise<Outcome<string[]>> {
    return this.store.owns(tenant) ? ok(this.store.spec().keyProviders ?? []) : notFound()
  }

  async events(tenant: string, after: number, raw: boolean): Promise<Outcome<Subscription>> {
    if (!this.store.owns(tenant)) return notFound()
    const opened = await this.fanout.subscribeMakingRoom(after, { raw })
    if (!opened) return fail('too_many_requests', `this session already serves ${MAX_STREAMS} event streams; close one first`)
    this.lifecycle.ensureRunning()
    return ok(opened)
  }
  /** The Worker serving stream `id` saw its client hang up. */
  async streamHungUp(id: number): Promise<void> {
    this.fanout.hungUp(id)
  }

  async keepalive(tenant: string): Promise<Outcome<{ expiresAt: string }>> {
    if (!this.store.owns(tenant)) return notFound()
    if (this.store.isOver()) return fail('conflict', `the session is ${this.store.row.status}`)
    this.signals.touch()
    await this.lifecycle.keepalive()
    return ok({ expiresAt: this.store.row.expires_at })
  }

  async end(tenant: string): Promise<Outcome<SessionView>> {
    if (!this.store.owns(tenant)) return notFound()
    if (!this.store.isOver()) await this.ending.finish('ended', 'deleted')
    return ok(this.view())
  }

  async answerPermission(tenant: string, permissionId: string, answer: PermissionAnswer): Promise<Outcome<PermissionResolved>> {
    if (!this.store.owns(tenant)) return notFound()
    const answered = await this.human.answer({ kind: 'permission', id: permissionId, ...answer })
    return answered.ok ? ok({ permissionId, reply: answer.reply }) : answered
  }

  async answerQuestion(tenant: string, questionId: string, answer: QuestionAnswer): Promise<Outcome<QuestionResolved>> {
    if (!this.store.owns(tenant)) return notFound()
    const answered = await this.human.answer({ kind: 'question', id: questionId, ...answer })
    return answered.ok ? ok({ questionId, ...answered.value }) : answered
  }

  async abort(tenant: string, clearQueue: boolean): Promise<Outcome<{ aborted: boolean; dropped: number }>> {
    if (!this.store.owns(tenant)) return notFound()
    if (this.store.isOver()) return fail('conflict', `the session is ${this.store.row.status}`)
    return ok(await this.turns.abort(clearQueue))
  }

  async rename(tenant: string, title: string): Promise<Outcome<SessionView>> {
    if (!this.store.owns(tenant)) return notFound()
    if (title !== this.store.row.title) {
      this.agentEvents.knowTitle(title)
      this.store.update({ title })
      this.signals.emit(event('session.updated', { title }))
      await this.signals.syncIndex()
      await this.connection.agent()?.rename(title).catch(() => undefined)
    }
    return ok(this.view())
  }

  async revert(tenant: string, messageId: string): Promise<Outcome<SessionView>> {
    return this.undo(tenant, (history) => history.revert(messageId))
  }

  async unrevert(tenant: string): Promise<Outcome<SessionView>> {
    return this.undo(tenant, (history) => history.unrevert())
  }

  async diff(tenant: string) {
    return this.inWorkspace(tenant, (w) => w.diff())
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

  // ---- the model gateway (called by the Worker's gateway route, never by a client) ----

  /**
   * Whether a call from this session's sandbox may go on to `provider`, and with which key: the
   * token must be the current sandbox's, the session open, and the budget not spent.
   */
  async gatewayGrant(digest: string, provider: string, call?: PaidCall): Promise<Outcome<CallGrant>> {
    return this.store.exists ? this.account.grant(digest, provider, call) : fail('unauthorized', 'not a valid gateway token')
  }

  /** What one granted call used, as the provider's answer said; it counts even if the session ended since. */
  async gatewayReport(provider: string, reservation: string | null, end: CallEnd): Promise<void> {
    if (this.store.exists) await this.account.report(provider, reservation, end)
  }

  override async alarm(): Promise<void> {
    await this.signals.holdWake()
    if (this.store.exists) await this.account.settleStale(Date.now())
    await this.usage.onAlarm()
    await this.wakes[wakeReason(this.signals.nextWake(), Date.now())]()
  }

  // ---- the session's own state ----

  /** The workspace, read for a caller of this tenant; a paused sandbox is resumed to read it. */
  private async inWorkspace<T>(tenant: string, read: (workspace: Workspace) => Promise<Outcome<T>>): Promise<Outcome<T>> {
    if (!this.store.owns(tenant)) return notFound()
    await this.lifecycle.awake()
    return read(this.workspace)
  }

  /** An undo or its redo, with the sandbox awake (opencode restores the files). */
  private async undo(tenant: string, change: (history: History) => Promise<Outcome<unknown>>): Promise<Outcome<SessionView>> {
    if (!this.store.owns(tenant)) return notFound()
    await this.lifecycle.awake()
    const done = await change(this.history)
    return done.ok ? ok(this.view()) : done
  }

  private readonly admit = (s: Admitted) => admit({ settings: this.settings, store: this.store, signals: this.signals, usage: this.usage, provider: this.provider }, s)

  /** A turn runs, messages wait, work on the sandbox is under way, or a fork copies it. */
  private get busy(): boolean {
    return this.turns.running || this.queue.waiting() > 0 || this.lifecycle.busy || this.forks.copying
  }

  private view(): SessionView {
    return this.store.view({ lastEventId: this.log.lastSeq, queued: this.queue.waiting(), pending: this.human.view() })
  }
}

const notFound = (): Outcome<never> => fail('not_found', 'no such session')
