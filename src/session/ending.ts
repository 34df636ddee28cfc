import { event } from '../contracts'
import { log } from '../lib/log'
import { describeFailure } from './failure'
import type { Checkpoints } from './checkpoints/checkpoints'
import type { Fanout } from './log/fanout'
import type { HumanRequests } from './agent/human-requests'
import type { SandboxLifecycle } from './sandbox/lifecycle'
import { forgetStorage } from '../lib/retention'
import { MIGRATIONS } from './store/schema'
import type { SessionStore } from './store/session-store'
import type { StatusPort } from './ports'
import type { Signals } from './signals'
import type { Turns } from './turns/turns'

export type EndingParts = {
  storage: DurableObjectStorage
  store: SessionStore
  signals: Signals
  status: StatusPort
  lifecycle: SandboxLifecycle
  turns: Turns
  human: HumanRequests
  fanout: Fanout
  checkpoints: Checkpoints
}

/** How a session ends: failed or ended for good, and forgotten once its retention is up. */
export class Ending {
  constructor(private readonly p: EndingParts) {}

  async fail(err: unknown) {
    const { store, signals } = this.p
    if (store.isOver()) return
    const { code, message } = describeFailure(err)
    log('warn', 'session failed', { sessionId: store.maybe?.id, code })
    store.update({ failure: JSON.stringify({ code, message }) })
    signals.emit(event('error', { code, message }))
    signals.tellRun({ kind: 'session_failed', code, message })
    await this.finish('failed', message)
  }

  /** Ends the session for good: the sandbox goes, queued messages are dropped, streams close. */
  async finish(status: 'ended' | 'failed', reason: string) {
    const { store, signals, lifecycle, turns, human, fanout } = this.p
    this.p.status.report({ kind: 'over', status, reason })
    // Nothing will need them again: an ended session keeps no secrets, not even sealed, and its
    // sandbox's gateway token dies with it.
    store.update({ secrets: null, gateway_digest: null })
    await lifecycle.stop(status)
    // Nothing will be restored again: the workspace's changes and the conversation go from R2.
    await this.p.checkpoints.deleteAll()
    turns.step(undefined, { kind: 'session_over', status })
    turns.dropQueued(`the session ${status} before this message ran`)
    human.resolveAll(`session ${status}`)
    signals.emit(event('session.ended', { reason }))
    store.update({ ended_at: new Date().toISOString() })
    fanout.end()
    await signals.scheduleWake()
    await signals.syncIndex()
  }

  /** The ended session's retention is up: its storage goes, and it leaves its tenant's listing. */
  async forget() {
    const { storage, store, signals } = this.p
    const { id, tenant } = store.row
    await signals.tenantIndex(tenant).remove(id)
    // Gone at the end already, unless the bucket could not be reached then.
    await this.p.checkpoints.deleteAll()
    await forgetStorage(storage, MIGRATIONS)
    store.reload()
  }
}
