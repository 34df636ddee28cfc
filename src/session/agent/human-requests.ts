import type { Event as AgentEvent } from '@opencode-ai/sdk/v2/client'
import { event, type PublicEvent, type SessionSpec } from '../../contracts'
import { fail, ok, type Outcome } from '../../lib/errors'
import type { PendingData, PendingKind, PendingRequests } from './pending'
import { Neighbours } from '../../lib/neighbours'
import type { AgentEventPort, AgentSource, EventSink, HumanAnswer } from '../ports'

/** How long a request of a background run waits before it is rejected: nobody will answer. */
const UNATTENDED_PENDING_SECONDS = 2

/** How long the agent's requests wait for a human in this session before they are rejected. */
export function pendingSeconds(spec: SessionSpec, fallback: number): number {
  // Policy answers a run's requests up front; one that still asks is rejected almost at once,
  // unless a person answers it where the run started.
  return spec.runId && !spec.approvals ? UNATTENDED_PENDING_SECONDS : (spec.pendingTimeoutSeconds ?? fallback)
}

/** What a request's end says: how it was answered, or that it was not and why. */
export type Resolution = Record<string, unknown>

const KINDS: Record<PendingKind, { asked: 'permission.asked' | 'question.asked'; unknown: string; forgotten: string }> = {
  permission: { asked: 'permission.asked', unknown: 'no such pending permission request', forgotten: 'the agent no longer waits for this request' },
  question: { asked: 'question.asked', unknown: 'no such pending question', forgotten: 'the agent no longer waits for this question' },
}

/** A request that ends unanswered: a rejected permission, a rejected question, with the reason. */
function unanswered(kind: PendingKind, reason: string): Resolution {
  return kind === 'permission' ? { reply: 'reject', reason } : { rejected: true, reason }
}

function resolvedEvent(kind: PendingKind, id: string, resolution: Resolution): PublicEvent {
  if (kind === 'permission') {
    const { reply, ...rest } = resolution as { reply: string }
    return event('permission.resolved', { permissionId: id, reply, ...rest })
  }
  return event('question.resolved', { questionId: id, ...resolution })
}

/** How a human's answer reads once given. */
function resolutionOf(answer: HumanAnswer): Resolution {
  if (answer.kind === 'permission') return { reply: answer.reply }
  return 'reject' in answer ? { rejected: true } : { answers: answer.answers }
}

export type HumanRequestParts = {
  pending: PendingRequests
  sink: EventSink
  /** when a request asked now times out */
  deadline(): number
  scheduleWake(): Promise<void>
}

/**
 * Permissions and questions the agent waits on a human for, both kinds on one path: asked,
 * answered (by a client, by opencode's own echo, by a timeout, or lost with the agent), and
 * announced as ended exactly once, whoever ends them.
 */
export class HumanRequests {
  readonly neighbours = new Neighbours<{ agents: AgentSource; events: AgentEventPort }>()

  constructor(private readonly p: HumanRequestParts) {}

  private agent() {
    return this.neighbours.of.agents.agent()
  }

  /** The open requests of each kind, as a session view lists them. */
  view(): { permissions: PendingData['permission'][]; questions: PendingData['question'][] } {
    return {
      permissions: this.p.pending.list('permission').map((r) => r.data),
      questions: this.p.pending.list('question').map((r) => r.data),
    }
  }

  asked<K extends PendingKind>(kind: K, id: string, data: PendingData[K]) {
    this.p.pending.add(kind, id, data, this.p.deadline())
    void this.p.scheduleWake()
  }

  /** A human's answer, handed to the agent; the request ends once the agent took it. */
  async answer(answer: HumanAnswer): Promise<Outcome<Resolution>> {
    const { kind, id } = answer
    if (!this.p.pending.has(kind, id)) return fail('not_found', KINDS[kind].unknown)
    const agent = this.agent()
    if (!agent) return fail('sandbox_unavailable', 'the agent is not running')
    const status = await agent.answer(answer)
    if (status === 404) {
      this.resolve(kind, id, unanswered(kind, 'lost'))
      return fail('not_found', KINDS[kind].forgotten)
    }
    if (status >= 400) return fail('agent_unreachable', `opencode answered ${status}`)
    const resolution = resolutionOf(answer)
    // opencode's own echo of this answer may have resolved it already; either way it is answered once.
    this.resolve(kind, id, resolution)
    // A bare reject makes opencode reject the session's other requests too.
    if (answer.kind === 'permission' && answer.reply === 'reject') await this.sync('rejected with another request')
    return ok(resolution)
  }

  /** Announces the end of a request exactly once, whoever ends it; false when it was already over. */
  resolve(kind: PendingKind, id: string, resolution: Resolution): boolean {
    if (!this.p.pending.take(kind, id)) return false
    this.p.sink.emit(resolvedEvent(kind, id, resolution))
    return true
  }

  /** Every open request ends unanswered: the agent that asked is gone, or the session is. */
  resolveAll(reason: string) {
    for (const r of this.p.pending.list()) this.resolve(r.kind, r.id, unanswered(r.kind, reason))
  }

  /**
   * Makes our list match opencode's: requests it no longer has are resolved with `reason`,
   * requests we missed (during a gap in the stream) are announced.
   */
  async sync(reason: string) {
    const listed = await this.agent()?.openRequests()
    if (!listed) return
    const open = new Set<string>()
    for (const kind of Object.keys(KINDS) as PendingKind[]) {
      for (const request of listed[kind]) {
        const ev = { id: 'sync', type: KINDS[kind].asked, properties: request } as AgentEvent
        if (!this.neighbours.of.events.concerns(ev)) continue
        open.add(request.id)
        if (!this.p.pending.has(kind, request.id)) this.neighbours.of.events.onAgentEvent(ev)
      }
    }
    for (const r of this.p.pending.list()) {
      if (!open.has(r.id)) this.resolve(r.kind, r.id, unanswered(r.kind, reason))
    }
  }

  /** Nobody answered in time: reject, so that no session waits forever. */
  async expire(now: number) {
    const expired = this.p.pending.expired(now)
    if (expired.length === 0) return
    const agent = this.agent()
    const message = 'No one answered in time, so the request was rejected automatically.'
    for (const r of expired) {
      // Resolved first, so that opencode's echo of the rejection does not announce it without its reason.
      this.resolve(r.kind, r.id, unanswered(r.kind, 'timeout'))
      if (!agent) continue
      const rejection: HumanAnswer =
        r.kind === 'permission' ? { kind: 'permission', id: r.id, reply: 'reject', message } : { kind: 'question', id: r.id, reject: true }
      await agent.answer(rejection).catch(() => {})
    }
  }
}
