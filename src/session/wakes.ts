import type { Ending } from './ending'
import type { HumanRequests } from './agent/human-requests'
import type { WakeReason } from './sandbox/rules'
import type { SandboxLifecycle } from './sandbox/lifecycle'
import type { SessionStore } from './store/session-store'
import type { Signals } from './signals'

/** What the session does when it wakes, by reason (./lifecycle says which one an alarm answers). */
export type WakeHandlers = Record<WakeReason, () => Promise<void>>

export type WakeParts = {
  store: Pick<SessionStore, 'exists' | 'isOver'>
  signals: Pick<Signals, 'scheduleWake'>
  ending: Pick<Ending, 'forget' | 'finish'>
  lifecycle: Pick<SandboxLifecycle, 'killLeftover' | 'wake' | 'hibernate'>
  human: Pick<HumanRequests, 'expire'>
}

/** One handler per reason; each plans the next wake, but forget, after which there is no session. */
export function wakeHandlers(p: WakeParts): WakeHandlers {
  const lookAfter = async () => {
    if (!p.store.exists || p.store.isOver()) return p.signals.scheduleWake()
    await p.human.expire(Date.now())
    await p.lifecycle.wake()
    await p.signals.scheduleWake()
  }
  return {
    forget: () => p.ending.forget(),
    expire: async () => {
      if (!(await p.lifecycle.hibernate())) return p.ending.finish('ended', 'expired')
      await p.signals.scheduleWake()
    },
    kill_leftover: async () => {
      await p.lifecycle.killLeftover()
      await lookAfter()
    },
    look_after: lookAfter,
    // Every alarm sends the reports first; one that woke only for them looks after the session too.
    send_usage: lookAfter,
  }
}
