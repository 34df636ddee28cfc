import { event, type SessionStatus } from '../contracts'
import type { SessionSignals, StatusFact, StatusPort } from './ports'
import type { SessionStore } from './store/session-store'

export type StatusChange = { status: SessionStatus; reason?: string }

const isOver = (status: SessionStatus) => status === 'ended' || status === 'failed'

/** The status a fact moves the session to, or nothing when it stays. Ended and failed are final. */
export function statusAfter(current: SessionStatus, fact: StatusFact): StatusChange | undefined {
  if (isOver(current)) return undefined
  const next = changeOf(fact)
  // A new session is announced as starting even though its row was made so.
  if (fact.kind === 'opened') return next
  return next.status === current ? undefined : next
}

function changeOf(fact: StatusFact): StatusChange {
  switch (fact.kind) {
    case 'opened':
      return { status: 'starting' }
    case 'sandbox_starting':
      return { status: 'starting', reason: 'starting a new sandbox' }
    case 'agent_ready':
    case 'no_turn':
      return { status: 'idle' }
    case 'turn_started':
      return { status: 'busy' }
    case 'turn_ended':
      return { status: 'idle', ...(fact.reason && { reason: fact.reason }) }
    case 'over':
      return { status: fact.status, reason: fact.reason }
  }
}

/**
 * The one writer of the session's status: its row, the `session.status` event clients see, and
 * the tenant's listing all change here, as ./status decides from what the parts report.
 */
export class SessionStatusKeeper implements StatusPort {
  constructor(
    private readonly store: SessionStore,
    private readonly signals: Pick<SessionSignals, 'emit' | 'syncIndex'>,
  ) {}

  get current(): SessionStatus {
    return this.store.row.status
  }

  report(fact: StatusFact) {
    if (!this.store.exists) return
    const next = statusAfter(this.store.row.status, fact)
    if (!next) return
    if (next.status !== this.store.row.status) this.store.update({ status: next.status })
    this.signals.emit(event('session.status', { status: next.status, ...(next.reason && { reason: next.reason }) }))
    if (fact.kind !== 'opened') void this.signals.syncIndex()
  }
}
