import type { OpencodeClient } from '@opencode-ai/sdk/v2/client'
import { snapshotEvents, todoSnapshot } from '../../events/catch-up'
import { OpencodeAgent } from '../../opencode/agent'
import { agentClient } from '../../opencode/client'
import { fetchAgentEvents } from '../../opencode/event-stream'
import { ensureAgentSession } from '../../opencode/session'
import type { SandboxRecord } from '../../sandbox/record'
import { runsOpencode, type AgentMemory } from '../../contracts'
import { Neighbours } from '../../lib/neighbours'
import { AcpConnection } from './acp-connection'
import { AgentLink, AgentStreamError, type LinkEnd } from './link'
import type { ConnectionParts } from './parts'
import type { AgentPort } from '../ports'
import { log } from '../../lib/log'

/** How many of opencode's latest messages a resync compares with what clients have seen. */
const RESYNC_MESSAGES = 20

/** A promise that never settles: an exit nobody has seen. */
const unseen = new Promise<never>(() => {})

function sameAgent(a: SandboxRecord, b: SandboxRecord): boolean {
  return JSON.stringify(a.endpoint) === JSON.stringify(b.endpoint) && a.password === b.password && a.workdir === b.workdir
}

/**
 * The session's one connection to the agent in its sandbox: a client built once per sandbox,
 * the event stream (AgentLink) that feeds the session, and catching up after a gap. A session of
 * another runtime than opencode goes through its ACP connection instead (./acp-connection).
 */
export class AgentConnection {
  private link: AgentLink | undefined
  private client: { record: SandboxRecord; client: OpencodeClient } | undefined
  private port: OpencodeAgent | undefined
  /** The watch on the agent process of the last link opened; it outlives the link's end. */
  private exit: { watch: AbortController; seen: Promise<string> } | undefined
  /** A link opening to a warm sandbox's agent while the session is being admitted; attach takes it over. */
  private early: { record: SandboxRecord; link: AgentLink; opened: Promise<void> } | undefined

  /** `lifecycle`: the link ended without our closing it, and the sandbox's lifecycle finds out why */
  readonly neighbours = new Neighbours<{ lifecycle: { dropped(end: LinkEnd): void } }>()
  private readonly acp: AcpConnection

  constructor(private readonly p: ConnectionParts) {
    this.acp = new AcpConnection({ ...p, dropped: (end) => this.neighbours.of.lifecycle.dropped(end) })
  }

  /** The session runs an ACP agent (its runtime is not opencode). */
  private get viaAcp(): boolean {
    return this.p.store.exists && !runsOpencode(this.p.store.spec().runtime)
  }

  get linked(): boolean {
    return this.viaAcp ? this.acp.linked : this.link !== undefined
  }

  /** The agent, while the session is linked to it and follows its session. */
  agent(): AgentPort | undefined {
    return this.viaAcp ? this.acp.agent() : this.opencode()
  }

  /** opencode's agent, for what only opencode does (undo): undefined for another runtime. */
  opencode(): OpencodeAgent | undefined {
    if (this.viaAcp) return undefined
    const following = this.p.events.following
    if (!this.link || !this.client || !following) return undefined
    if (this.port?.sessionId !== following || this.port.client !== this.client.client) this.port = new OpencodeAgent(this.client.client, following)
    return this.port
  }

  /** A client for the agent in `record`'s sandbox, reused while the sandbox answers at the same place. */
  clientFor(record: SandboxRecord): OpencodeClient {
    const known = this.client
    if (known && sameAgent(known.record, record)) return known.client
    const client = agentClient(record.endpoint, record.password, record.workdir, { timeoutMs: this.p.timings.agentCallMs })
    this.client = { record, client }
    return client
  }

  /**
   * A new sandbox's agent: its session (the warm sandbox's own, or a new one) is followed from
   * the start. `known`: the agent session to follow without asking opencode (see ./start-checks).
   * Answers how an ACP agent gets the earlier conversation (opencode's import is the checkpoints').
   */
  async attach(record: SandboxRecord, known?: string): Promise<AgentMemory | undefined> {
    if (this.viaAcp) return this.acp.attach(record)
    const client = this.clientFor(record)
    const title = this.p.store.row.title
    // The link holds events until release(), so it opens while the agent session is made.
    const [sessionId] = await Promise.all([known ?? ensureAgentSession(client, { id: record.agentSessionId, title }), this.open(record)])
    this.p.store.update({ agent_session_id: sessionId })
    this.p.events.follow(sessionId, record.workdir, false)
    this.link?.release()
    return undefined
  }

  /**
   * Opens a new link to an agent and brings the session back in line with it: what clients
   * missed during the gap is emitted from opencode's own record, requests it forgot are
   * resolved as lost, and a turn it is no longer running is closed. Answers how an ACP agent that
   * lost its own record gets the earlier conversation.
   */
  async reattach(record: SandboxRecord, agentRestarted: boolean): Promise<AgentMemory | undefined> {
    if (this.viaAcp) return this.acp.reattach(record, agentRestarted)
    const { store, events, turns, status } = this.p
    const client = this.clientFor(record)
    const sessionId = await ensureAgentSession(client, { id: store.row.agent_session_id, title: store.row.title })
    if (sessionId !== store.row.agent_session_id) store.update({ agent_session_id: sessionId })
    if (events.following !== sessionId) events.follow(sessionId, record.workdir, true)
    await this.open(record)
    const [messages, statuses, todos] = await Promise.all([
      client.session.messages({ sessionID: sessionId, limit: RESYNC_MESSAGES }),
      client.session.status(),
      client.session.todo({ sessionID: sessionId }),
    ])
    events.applySnapshot([...snapshotEvents(sessionId, messages.data ?? []), ...todoSnapshot(sessionId, todos.data)])
    await this.p.human.sync('lost')
    turns.adoptRunning()
    const turn = turns.currentMessageId
    if (turn && agentRestarted) turns.step(turn, { kind: 'agent_restarted' })
    this.link?.release()
    // Held events may have ended the turn already (and started the next): only a turn still ours is settled here.
    if (turn) turns.step(turn, { kind: 'resynced', agentBusy: statuses.data?.[sessionId]?.type === 'busy' })
    if (!turns.running) status.report({ kind: 'no_turn' })
    turns.pump()
    return undefined
  }

  /**
   * Starts the link to a warm sandbox's agent before the sandbox is the session's (its admission
   * is still being decided), so a warm start does not wait for the stream after it. The pool
   * checked the agent when it pooled it; the link opening proves it still answers.
   */
  openEarly(record: SandboxRecord) {
    if (this.viaAcp) return
    this.dropEarly()
    const link = this.newLink(record)
    const opened = link.open()
    // Failing is attach's to report, when it takes the link over; until then nobody waits for it.
    opened.catch(() => {})
    this.early = { record, link, opened }
  }

  /** The early link is not wanted (the session was refused): it closes. */
  dropEarly() {
    this.early?.link.close()
    this.early = undefined
  }

  close() {
    this.dropEarly()
    this.acp.close()
    this.link?.close()
    this.link = undefined
    this.exit?.watch.abort()
    this.exit = undefined
  }

  /** How the agent of the last link exited, once its sandbox has said so; never settles until then. */
  exited(): Promise<string> {
    return this.exit?.seen.catch(() => unseen) ?? unseen
  }

  /**
   * The sandbox says at once when its agent process exits: a crash is acted on then, rather than
   * when the stream ends (it may linger behind a proxy) or a health check gives up.
   */
  private watchExit(sandboxId: string) {
    this.exit?.watch.abort()
    const watch = new AbortController()
    const seen = this.p.agentExit(sandboxId, watch.signal)
    this.exit = { watch, seen }
    seen.then(
      (how) => {
        if (watch.signal.aborted) return
        log('warn', 'agent exited', { sessionId: this.p.store.maybe?.id, exit: how })
        const link = this.link
        if (!link) return
        this.link = undefined
        link.close()
        this.neighbours.of.lifecycle.dropped({ reason: 'exited', detail: how })
      },
      // A watch that fails (the provider unreachable) leaves the stream and health checks to tell.
      () => {},
    )
  }

  /** A link to `record`'s agent: the one opened early for it if there is one, else a new one. */
  private async open(record: SandboxRecord) {
    const early = this.early
    this.early = undefined
    let link: AgentLink
    if (early && sameAgent(early.record, record)) {
      link = early.link
      await early.opened
      // Its end, before the session took it over, was heard by nobody.
      if (link.closed) throw new AgentStreamError('the warm sandbox\'s agent closed its event stream before the session started')
    } else {
      early?.link.close()
      link = this.newLink(record)
      await link.open()
    }
    this.link = link
    this.watchExit(record.sandboxId)
  }

  private newLink(record: SandboxRecord): AgentLink {
    const link: AgentLink = new AgentLink(
      (signal) => fetchAgentEvents(record.endpoint, record.password, record.workdir, signal),
      (events) => this.p.events.onAgentEvents(events),
      (end) => {
        if (this.link !== link) return
        this.link = undefined
        link.close()
        this.neighbours.of.lifecycle.dropped(end)
      },
      this.p.timings,
    )
    return link
  }
}
