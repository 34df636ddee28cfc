import type { Bindings } from '../env'
import { errorMessage, log as logLine } from '../lib/log'
import { sandboxProvider } from '../sandbox/select'
import { checkpointsOff, readSettings } from '../config/settings'
import { SessionUsage } from './usage/report'
import { SessionActivity } from './activity'
import { AgentConnection } from './agent/connection'
import { AgentEvents } from './agent/events'
import { Checkpoints } from './checkpoints/checkpoints'
import { Conversation } from './turns/conversation'
import { Ending } from './ending'
import { EventLog } from './log/event-log'
import { Fanout } from './log/fanout'
import { Forks } from './history/fork'
import { GatewayAccount } from './gateway/account'
import { History } from './history/undo'
import { HumanRequests, pendingSeconds } from './agent/human-requests'
import { withFiles } from './turns/message-files'
import { PendingRequests } from './agent/pending'
import { promptFor } from './turns/prompt'
import { MessageQueue } from './turns/queue'
import { SandboxLifecycle } from './sandbox/lifecycle'
import { SandboxSource } from './sandbox/source'
import { migrate } from './store/schema'
import { SessionStore } from './store/session-store'
import { Signals } from './signals'
import { SessionStatusKeeper } from './status'
import { Turns } from './turns/turns'
import { wakeHandlers } from './wakes'
import { Workspace } from './sandbox/workspace'
import { SandboxAccess } from './sandbox/access'
import { Terminals } from './sandbox/terminals'
import { OpenPorts } from './sandbox/open-ports'
import type { TurnEnds } from './ports'
import type { Reply } from '../contracts'

export type SessionParts = ReturnType<typeof composeSession>

/**
 * The session's composition root: every part built once, in the order they depend on each other,
 * then joined to the parts they call that came later (a turn prompts the agent, whose events end
 * the turn; the link's end is the lifecycle's to explain; a sandbox that cannot be made ends the
 * session). The Durable Object only routes calls to what this returns.
 */
export function composeSession(ctx: DurableObjectState, env: Bindings) {
  const storage = ctx.storage
  const sql = storage.sql
  migrate(sql)
  const settings = readSettings(env)
  const provider = sandboxProvider(settings)
  const store = new SessionStore(sql)
  const log = new EventLog(storage, () => store.maybe?.id ?? '')
  const fanout = new Fanout(log, settings.timings.pingMs)
  log.publishTo(fanout)
  const pending = new PendingRequests(sql)
  const queue = new MessageQueue(sql)
  const conversation = new Conversation(sql)
  const usage = new SessionUsage(sql, env, () => store.maybe)
  const signals = new Signals({ env, settings, storage, store, log, usage, pending })
  usage.neighbours.join({ wakes: signals })
  const status = new SessionStatusKeeper(store, signals)
  const account = new GatewayAccount({
    env,
    row: () => store.row,
    update: (fields) => store.update(fields),
    limits: () => store.spec().limits,
    isOver: () => store.isOver(),
    sql,
    signals,
    usage,
  })
  const human = new HumanRequests({
    pending,
    sink: signals,
    deadline: () => Date.now() + pendingSeconds(store.spec(), settings.pendingTimeoutSeconds) * 1000,
    scheduleWake: () => signals.scheduleWake(),
  })
  const turns = new Turns({
    queue,
    conversation,
    signals,
    status,
    isOver: () => store.isOver(),
    promptFor: (message) => withFiles(queue, provider, store.sandbox(), message.id, (files) => promptFor(message, store.spec(), files)),
    aborted: () => void human.sync('turn aborted').catch((err: unknown) => logLine('warn', 'pending sync failed', { err: errorMessage(err) })),
  })
  const agentEvents = new AgentEvents({
    sql,
    log,
    fanout,
    store,
    signals,
    queue,
    conversation,
    human,
    turns,
    spent: (messageId, used) => (usage.opencodeCounted(messageId, used), void account.reportSpend()),
  })
  const connection = new AgentConnection({
    store,
    signals,
    status,
    events: agentEvents,
    turns,
    human,
    timings: settings.timings,
    agentExit: (sandboxId, signal) => provider.agentExit(sandboxId, signal),
    transcript: { events: () => log.conversation(), maxBytes: settings.transcriptMaxBytes },
  })
  const source = new SandboxSource({ env, settings, provider, store, signals })
  const terminals = new Terminals({ provider, touch: () => signals.touch(), accept: (socket) => ctx.acceptWebSocket(socket) })
  const checkpoints = new Checkpoints({
    bucket: checkpointsOff(env) ? undefined : env.CHECKPOINTS,
    secretsKey: env.SECRETS_KEY,
    maxBytes: settings.checkpointMaxBytes,
    sql,
    store,
    provider,
    connection,
    signals,
    turns,
  })
  const lifecycle = new SandboxLifecycle({
    secretsKey: env.SECRETS_KEY,
    provider,
    store,
    signals,
    status,
    queue,
    turns,
    human,
    events: agentEvents,
    connection,
    source,
    checkpoints,
    terminals,
    settings,
    watchers: () => fanout.size,
  })
  const ports = new OpenPorts({ provider, signals, sandboxId: () => store.sandbox()?.sandboxId })
  const access = new SandboxAccess({ store, lifecycle, terminals, ports, provider })
  const forks = new Forks({ queue, conversation, secretsKey: env.SECRETS_KEY, store, signals, status, source, connection })
  const activity = new SessionActivity({ turns, queue, lifecycle, forks })
  const workspace = new Workspace(store, provider, connection)
  const history = new History({ store, queue, conversation, signals, activity, connection })
  const ending = new Ending({ storage, store, signals, status, lifecycle, turns, human, fanout, checkpoints })
  const wakes = wakeHandlers({ store, signals, ending, lifecycle, human })

  signals.neighbours.join({ activity, checkpoints, ports })
  human.neighbours.join({ agents: connection, events: agentEvents })
  turns.neighbours.join({
    agents: connection,
    events: agentEvents,
    hold: new TurnHold(forks, checkpoints, lifecycle),
    ends: new TurnEndReports(usage, checkpoints, signals, lifecycle),
  })
  connection.neighbours.join({ lifecycle })
  lifecycle.neighbours.join({ ending })
  forks.neighbours.join({ activity })

  return { settings, provider, store, log, fanout, queue, conversation, usage, signals, status, account, human, turns, agentEvents, connection, source, checkpoints, terminals, access, lifecycle, forks, activity, workspace, history, ending, wakes }
}

/** No turn starts while a fork copies the workspace or a checkpoint saves it, nor in a sandbox the provider's run limit is about to end. */
class TurnHold {
  constructor(
    private readonly forks: Pick<Forks, 'copying'>,
    private readonly checkpoints: Pick<Checkpoints, 'saving'>,
    private readonly lifecycle: Pick<SandboxLifecycle, 'runLimitDue'>,
  ) {}

  get held(): boolean {
    return this.forks.copying || this.checkpoints.saving || this.lifecycle.runLimitDue
  }
}

/** A turn's end counts as a turn, is saved in a checkpoint, tells a run what it answered, and pauses a sandbox near its run limit. */
class TurnEndReports implements TurnEnds {
  constructor(
    private readonly usage: Pick<SessionUsage, 'turnEnded'>,
    private readonly checkpoints: Pick<Checkpoints, 'save'>,
    private readonly signals: Pick<Signals, 'tellRun'>,
    private readonly lifecycle: Pick<SandboxLifecycle, 'pauseForRunLimit'>,
  ) {}

  ended(messageId: string, reply: Reply, structured?: unknown) {
    this.usage.turnEnded(messageId)
    void this.checkpoints.save(messageId)
    this.signals.tellRun({ kind: 'turn_done', text: reply.text, ...(structured !== undefined && { structured }) })
    // Between turns, the moment it is due: the next turn would otherwise meet the run limit.
    this.lifecycle.pauseForRunLimit()
  }
}
