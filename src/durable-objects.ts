import type {
  CheckpointList,
  Aborted,
  ConversationMessage,
  CreateRunInput,
  CreateSessionInput,
  Diff,
  FileBody,
  Keepalive,
  PermissionAnswer,
  PermissionResolved,
  QuestionAnswer,
  QuestionResolved,
  RunSignal,
  RunStatus,
  RunView,
  ScheduleBody,
  SchedulePatch,
  ScheduleRunView,
  ScheduleView,
  SendMessageInput,
  SendMessageResult,
  SessionPage,
  SessionSummary,
  SessionView,
  SlackTarget,
  TenantUsage,
} from './contracts'
import type { FileChange } from './github/changes'
import type { CallEnd, CallGrant, PaidCall } from './gateway/spend'
import type { BudgetCheck } from './gateway/budget'
import type { Outcome } from './lib/errors'
import type { RepoWarmSandbox, WarmSandbox } from './sandbox/record'
import type { SnapshotPolicy, SnapshotRow } from './sandbox/snapshots'
import type { ForkInput } from './session/history/fork-copy'
import type { Subscription } from './session/log/fanout'
import type { Admission } from './tenant/limits'
import type { AskPlace } from './runs/approvals'
import type { ThreadReply } from './runs/thread-turn'
import type { UsageReport } from './tenant/usage'

/**
 * The Durable Objects as their callers see them: each one's RPC methods, the bindings that reach
 * them, and typed stubs. Callers (and env.ts) depend on these interfaces, never on the classes,
 * so no module imports another's Durable Object and the classes import nothing back; each class
 * `implements` its interface, so a drift is a type error.
 */

/** One per session (`SessionDO`): named by the session id. */
export interface SessionRpc extends Rpc.DurableObjectBranded {
  create(input: CreateSessionInput): Promise<Outcome<SessionView>>
  get(tenant: string): Promise<Outcome<SessionView>>
  /** with `waitMs`, the reply too, or a timeout after that long */
  send(tenant: string, input: SendMessageInput, waitMs?: number): Promise<Outcome<SendMessageResult>>
  /** a piece of a file of a message still arriving, kept under `upload` until `send` takes it (see src/api/message-files.ts) */
  stageFile(tenant: string, upload: string, file: number, chunk: number, bytes: Uint8Array): Promise<Outcome<null>>
  /** drops what is left staged under `upload` */
  dropUpload(tenant: string, upload: string): Promise<void>
  messages(tenant: string): Promise<Outcome<ConversationMessage[]>>
  /** the providers the session brought its own model keys for */
  keyProviders(tenant: string): Promise<Outcome<string[]>>
  /** an event stream and the number naming it to `streamHungUp` */
  events(tenant: string, after: number, raw: boolean): Promise<Outcome<Subscription>>
  /** the client of event stream `id` has gone: its place comes free at once */
  streamHungUp(id: number): Promise<void>
  keepalive(tenant: string): Promise<Outcome<Keepalive>>
  end(tenant: string): Promise<Outcome<SessionView>>
  answerPermission(tenant: string, permissionId: string, answer: PermissionAnswer): Promise<Outcome<PermissionResolved>>
  answerQuestion(tenant: string, questionId: string, answer: QuestionAnswer): Promise<Outcome<QuestionResolved>>
  abort(tenant: string, clearQueue: boolean): Promise<Outcome<Aborted>>
  rename(tenant: string, title: string): Promise<Outcome<SessionView>>
  /** undo: conversation and workspace back to before one user message; unrevert takes it back */
  revert(tenant: string, messageId: string): Promise<Outcome<SessionView>>
  unrevert(tenant: string): Promise<Outcome<SessionView>>
  /** a new session `id` starting from this one's conversation (up to `messageId`'s turn) and a copy of its sandbox */
  /** from a message's turn (the sandbox as it stands), or from a checkpoint (its workspace and the conversation up to its turn) */
  fork(tenant: string, id: string, from: { messageId?: string; checkpoint?: number }): Promise<Outcome<SessionView>>
  /** called by the session forked from, on the new session's object */
  createFork(input: ForkInput): Promise<Outcome<SessionView>>
  diff(tenant: string): Promise<Outcome<Diff>>
  /** the workspace's changes as one unified diff, for a run's result */
  workspacePatch(tenant: string): Promise<Outcome<string>>
  /** the workspace's changes file by file with their modes, for a commit through GitHub's API */
  workspaceChanges(tenant: string): Promise<Outcome<{ head: string; changes: FileChange[] }>>
  readFile(tenant: string, path: string): Promise<Outcome<FileBody>>
  /** the session's checkpoints, oldest first */
  checkpointList(tenant: string): Promise<Outcome<CheckpointList>>
  /** checkpoint `n`'s changes as a gzipped unified diff */
  checkpointPatch(tenant: string, n: number): Promise<Outcome<Uint8Array>>
  /** rolls the running workspace back to checkpoint `n` */
  restoreCheckpoint(tenant: string, n: number): Promise<Outcome<SessionView>>
  /** the model gateway's questions: may this call go on, and what it used */
  gatewayGrant(digest: string, provider: string, call?: PaidCall): Promise<Outcome<CallGrant>>
  gatewayReport(provider: string, reservation: string | null, end: CallEnd): Promise<void>
  /**
   * A session's WebSockets, which RPC cannot carry: `GET SESSION_TERMINAL_PATH?cols=&rows=`
   * upgraded, for the tenant named in SESSION_TENANT_HEADER (set by the Worker's route, after its
   * auth). Answers 101 with the socket, or an error in the contract's format.
   */
  fetch(request: Request): Promise<Response>
  /**
   * Where the session's opencode answers and the headers that open it (its password), with the
   * sandbox running (resumed or made first): for the Worker's pass-through of opencode's API,
   * which never shows them. Counts as activity.
   */
  agentAccess(tenant: string): Promise<Outcome<AgentAccess>>
  /**
   * Where the Worker reaches `port` of the session's running sandbox (a secret, never shown), for
   * a preview: only a port a process of the sandbox listens on. Counts as activity.
   */
  previewAccess(tenant: string, port: number): Promise<Outcome<PreviewAccess>>
}

/** How the Worker reaches a port of a session's sandbox (SessionRpc.previewAccess): secrets all. */
export type PreviewAccess = { url: string; headers: Record<string, string> }

/** How the Worker reaches a session's opencode (SessionRpc.agentAccess): secrets all. */
export type AgentAccess = { url: string; headers: Record<string, string>; directory: string }

/** The path and header of a session object's terminal request (SessionRpc.fetch). */
export const SESSION_TERMINAL_PATH = '/terminal'
export const SESSION_TENANT_HEADER = 'x-session-tenant'

/** One per background run (`RunDO`): named by the run id. */
export interface RunRpc extends Rpc.DurableObjectBranded {
  start(input: CreateRunInput): Promise<Outcome<RunView>>
  get(tenant: string): Promise<Outcome<RunView>>
  cancel(tenant: string): Promise<Outcome<RunView>>
  /** told by the run's session as its turn goes */
  signal(sig: RunSignal): Promise<void>
  /** a trusted author's `/approve` (`once`) or `/deny` (`reject`) on the issue or pull request the run reports to, or an approver's button in its Slack thread */
  answerAsk(tenant: string, where: AskPlace, reply: 'once' | 'reject'): Promise<Outcome<{ permissionId: string }>>
  /** a message in the run's Slack thread: one more turn of its session, or why not */
  continueThread(tenant: string, target: SlackTarget, text: string, key: string): Promise<ThreadReply>
}

/** One per tenant (`TenantSchedules`): its schedules, fired by the object's alarm; `gatewayUrl` is where its runs' sandboxes reach the model gateway. */
export interface SchedulesRpc extends Rpc.DurableObjectBranded {
  create(tenant: string, body: ScheduleBody, gatewayUrl: string, limit: number): Promise<Outcome<ScheduleView>>
  list(tenant: string): Promise<Outcome<ScheduleView[]>>
  get(tenant: string, id: string): Promise<Outcome<ScheduleView>>
  update(tenant: string, id: string, patch: SchedulePatch, gatewayUrl: string): Promise<Outcome<ScheduleView>>
  remove(tenant: string, id: string): Promise<Outcome<null>>
  pause(tenant: string, id: string): Promise<Outcome<ScheduleView>>
  resume(tenant: string, id: string): Promise<Outcome<ScheduleView>>
  runs(tenant: string, id: string): Promise<Outcome<ScheduleRunView[]>>
  /** told by a run the schedule fired when it ends */
  runEnded(scheduleId: string, runId: string, status: RunStatus): Promise<void>
}

/** One per tenant (`TenantIndex`): its sessions' list, limits, spend and usage. */
export interface TenantRpc extends Rpc.DurableObjectBranded {
  admit(summary: SessionSummary, limits: { maxActive: number; perMinute: number }): Promise<Admission>
  /** counts a run against the tenant's run rate, before the run's object exists */
  admitRun(id: string, perMinute: number): Promise<Admission>
  /** the run a Slack thread (slackThreadKey) of the tenant belongs to, if any */
  slackThreadRun(thread: string): Promise<string | null>
  /** the thread belongs to this run from now on */
  recordSlackThread(thread: string, runId: string): Promise<void>
  /** grants a call of `cost` against the tenant's cost caps, held as reserved until settled */
  reserve(id: string, cost: number): Promise<BudgetCheck>
  /** adds to this UTC day's spend, and releases the reservation `settled` names */
  addSpend(cost: number, settled?: string): Promise<void>
  /** what the tenant's model calls cost this UTC day and this UTC month, and what its calls in flight are reserved for */
  spent(): Promise<{ today: number; month: number; reserved: number }>
  recordUsage(tenant: string, reports: UsageReport[]): Promise<void>
  usage(from: string, to: string): Promise<TenantUsage>
  upsert(summary: SessionSummary): Promise<void>
  /** an ended session's storage was deleted: it leaves the listing */
  remove(id: string): Promise<void>
  list(limit: number, cursor?: string): Promise<SessionPage>
  /** the tenant's repository snapshots, newest first; of one family (see snapshotFamily) when named */
  snapshots(family?: string): Promise<SnapshotRow[]>
  /** records one, and forgets (and returns, for the caller to delete) those retention removes */
  addSnapshot(snapshot: SnapshotRow, policy: SnapshotPolicy): Promise<SnapshotRow[]>
  removeSnapshot(id: string): Promise<SnapshotRow | null>
}

/** The one warm pool (`SandboxPool`), named `POOL_NAME`. */
export interface PoolRpc extends Rpc.DurableObjectBranded {
  take(fingerprint: string, sessionId: string): Promise<WarmSandbox | null>
  /** a sandbox take() handed to a session that was then refused, unused */
  giveBack(fingerprint: string, warm: WarmSandbox): Promise<void>
  ownerOf(owner: string): Promise<string | null>
  /** the deployment's key for gateway tokens when it has no SECRETS_KEY (see gateway/token-key.ts) */
  gatewayKeyText(): Promise<string>
  ensure(origin: string): Promise<void>
  status(): Promise<{ ready: number; refillPausedUntil: number | null }>
  /** a ready sandbox of the repository pool keyed `pool` (see poolKey), for session `sessionId` */
  takeRepo(pool: string, fingerprint: string, sessionId: string): Promise<RepoWarmSandbox | null>
  /** a verified push moved these pools' ref to `commit` */
  pushed(pools: string[], commit: string): Promise<void>
  repoStatus(): Promise<{ target: number; ready: number }>
}

/** One per named scope of webhook memory (`WebhookGuard`). */
export interface GuardRpc extends Rpc.DurableObjectBranded {
  firstSighting(key: string, ttlMs: number): Promise<boolean>
  admit(key: string, limit: number, windowMs: number): Promise<boolean>
}

/** The Worker's Durable Object bindings (wrangler.toml), each typed by its interface. */
export type DurableObjectBindings = {
  SESSIONS: DurableObjectNamespace<SessionRpc>
  RUNS: DurableObjectNamespace<RunRpc>
  TENANTS: DurableObjectNamespace<TenantRpc>
  POOL: DurableObjectNamespace<PoolRpc>
  /** replayed signatures and per-repository run counts */
  WEBHOOK_GUARD: DurableObjectNamespace<GuardRpc>
  SCHEDULES: DurableObjectNamespace<SchedulesRpc>
}

export const POOL_NAME = 'default'

/**
 * A stub typed by the interface as declared, not by workers-types' `DurableObjectStub<T>`. That
 * type runs every result through `Rpc.Provider`, which keeps a result only if it matches
 * `Rpc.Serializable`; `unknown` never does. Our results carry opencode's free-form fields as
 * `unknown` (a permission's metadata, a question, a message's parts: `z.unknown()` in the
 * schemas), and `Outcome`'s error may carry `details: unknown`, so the derived types dropped
 * every error branch and turned the session's views into `never`, which type-checks anything.
 * What these interfaces pass is plain data that RPC structured-clones as it is (and streams), so
 * the declared types are the true ones; this is the one place that says so.
 */
export type Stub<T extends Rpc.DurableObjectBranded> = Omit<T, keyof Rpc.DurableObjectBranded>

function stub<T extends Rpc.DurableObjectBranded>(namespace: DurableObjectNamespace<T>, name: string): Stub<T> {
  return namespace.get(namespace.idFromName(name)) as unknown as Stub<T>
}

export const sessionStub = (env: Pick<DurableObjectBindings, 'SESSIONS'>, sessionId: string) => stub(env.SESSIONS, sessionId)
export const runStub = (env: Pick<DurableObjectBindings, 'RUNS'>, runId: string) => stub(env.RUNS, runId)
export const tenantStub = (env: Pick<DurableObjectBindings, 'TENANTS'>, tenant: string) => stub(env.TENANTS, tenant)
export const poolStub = (env: Pick<DurableObjectBindings, 'POOL'>) => stub(env.POOL, POOL_NAME)
export const guardStub = (env: Pick<DurableObjectBindings, 'WEBHOOK_GUARD'>, scope: string) => stub(env.WEBHOOK_GUARD, scope)
export const schedulesStub = (env: Pick<DurableObjectBindings, 'SCHEDULES'>, tenant: string) => stub(env.SCHEDULES, tenant)
