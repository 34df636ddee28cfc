import { fail, ok, type Outcome } from '../../lib/errors'
import { AgentUnreachableError, waitForOpencode } from '../../opencode/client'
import type { AgentConnection } from '../agent/connection'
import type { Conversation } from '../turns/conversation'
import type { MessageQueue } from '../turns/queue'
import { Neighbours } from '../../lib/neighbours'
import type { Activity, SessionSignals, StatusPort } from '../ports'
import { quietFor } from '../activity'
import type { SandboxSource } from '../sandbox/source'
import { openSecrets } from '../store/secrets'
import type { SessionStore } from '../store/session-store'
import { agentCut, historyEvents, lastKeptTurn, pairIds, remapHistory, type ForkHistory, type ForkInput } from './fork-copy'

export type ForkParts = {
  queue: MessageQueue
  conversation: Conversation
  secretsKey: string | undefined
  store: SessionStore
  signals: SessionSignals
  status: StatusPort
  source: SandboxSource
  connection: AgentConnection
}

/**
 * Forks: a new session that starts as a copy of this one, its conversation up to a chosen turn
 * and its sandbox (workspace and opencode's record) as it stands. Both halves live here: what
 * the original hands over (`handOver`), and how the new session takes it (`adopt`).
 */
export class Forks {
  /** copies of this session under way: its turns wait until they are done */
  private copies = 0
  /** `activity`: a session at work is not forked */
  readonly neighbours = new Neighbours<{ activity: Activity }>()

  constructor(private readonly p: ForkParts) {}

  get copying(): boolean {
    return this.copies > 0
  }

  /**
   * Hands this session at `messageId` to `create` (the new session's object) to copy. Messages
   * sent meanwhile wait in the queue, as the copy must not change half-way; `resume` runs them.
   */
  async copy<T>(id: string, messageId: string | undefined, alone: boolean, create: (input: ForkInput) => Promise<Outcome<T>>, resume: () => void): Promise<Outcome<T>> {
    const input = this.handOver(id, messageId, alone)
    if (!input.ok) return input
    this.copies++
    try {
      return await create(input.value)
    } finally {
      this.copies--
      resume()
    }
  }

  /**
   * What a fork of this session at `messageId` starts from; the session must be idle with a
   * sandbox, or (`alone`: from a checkpoint) without one, the fork then making its own.
   */
  handOver(id: string, messageId: string | undefined, alone: boolean): Outcome<ForkInput> {
    const { store, queue: messages, conversation } = this.p
    const quiet = quietFor('fork', this.neighbours.of.activity, store)
    if (!quiet.ok) return quiet
    const record = store.sandbox()
    const agentSessionId = store.row.agent_session_id ?? undefined
    const copied = record && !record.paused && agentSessionId ? { sandboxId: record.sandboxId, agentSessionId } : undefined
    if (!copied && !(alone && !record)) return fail('sandbox_unavailable', 'the session has no running sandbox to copy')
    const listed = conversation.forkable()
    const last = lastKeptTurn(listed, messageId)
    if (last === undefined) return fail('not_found', 'no such message in this session')
    const turns = conversation.userTurns()
    const queue = messages.settled().map((q) => ({ ...q, turn: turns.get(q.id) ?? q.pos }))
    const { runId: _run, ...spec } = store.spec()
    return ok({
      id,
      tenant: store.row.tenant,
      title: store.row.title,
      spec: { ...spec, forkedTurn: last },
      secrets: store.row.secrets,
      ...copied,
      cut: agentCut(queue, last),
      history: { queue: queue.filter((q) => q.turn <= last), messages: listed.filter((m) => m.turn <= last) },
    })
  }

  /**
   * Makes this new session the fork: its own copy of the sandbox (own password, own gateway
   * token), opencode's fork of the conversation in it, the kept history under the copy's ids,
   * and the link to its agent. Throws when the copy cannot be made; the caller fails the session.
   */
  async adopt(input: ForkInput) {
    const { store, signals, connection } = this.p
    if (!input.sandboxId || !input.agentSessionId) throw new Error('the original has no sandbox to copy')
    signals.sandboxState('starting', 'copying')
    const secrets = await openSecrets(this.p.secretsKey, store.row.secrets)
    const record = await this.p.source.forkOf(input.sandboxId, store.spec(), secrets, () => {})
    store.saveSandbox(record)
    await waitForOpencode(record.endpoint, record.password)
    const client = connection.clientFor(record)
    const forked = await client.session.fork({ sessionID: input.agentSessionId, messageID: input.cut })
    if (!forked.data) throw new AgentUnreachableError(`opencode did not fork the conversation (${forked.response.status})`)
    const [before, after] = await Promise.all([
      client.session.messages({ sessionID: input.agentSessionId }),
      client.session.messages({ sessionID: forked.data.id }),
    ])
    const ids = pairIds(
      (before.data ?? []).map((m) => m.info.id),
      input.cut,
      (after.data ?? []).map((m) => m.info.id),
    )
    this.adoptHistory(remapHistory(input.history, ids))
    store.update({ agent_session_id: forked.data.id })
    store.saveSandbox({ ...record, agentSessionId: forked.data.id })
    // Followed as after a restart: the copied messages are known, so none is announced again.
    await connection.reattach(record, false)
    signals.sandboxState('ready', 'forked')
    signals.touch()
    this.p.status.report({ kind: 'agent_ready' })
  }

  /**
   * The kept history becomes this session's, and its stream replays it: under the copy's ids, or
   * for the fork of a session without a sandbox, as it was (the checkpoint's record of the
   * conversation, which the fork's first sandbox imports, keeps opencode's ids).
   */
  adoptHistory(history: ForkHistory) {
    const { signals, queue: messages, conversation } = this.p
    for (const q of history.queue) messages.copy(q)
    for (const m of history.messages) conversation.copy(m)
    // Listed in the order GET /messages shows them, so a replay of the stream reads the same.
    const ordered = [...history.messages].sort((a, b) => a.turn - b.turn || (a.role === b.role ? a.created_at.localeCompare(b.created_at) : a.role === 'user' ? -1 : 1))
    for (const ev of historyEvents(ordered)) signals.emit(ev)
  }
}
