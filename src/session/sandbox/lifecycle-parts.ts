import type { Timings } from '../../config/timings'
import type { SandboxProvider } from '../../sandbox/provider'
import type { E2BLimits } from '../../sandbox/e2b-limits'
import type { AgentConnection } from '../agent/connection'
import type { AgentEvents } from '../agent/events'
import type { HumanRequests } from '../agent/human-requests'
import type { Checkpoints } from '../checkpoints/checkpoints'
import type { SessionSignals, StatusPort } from '../ports'
import type { SessionStore } from '../store/session-store'
import type { MessageQueue } from '../turns/queue'
import type { Turns } from '../turns/turns'
import type { WatchdogLimits } from './rules'
import type { SandboxSource } from './source'

/** What the sandbox's lifecycle (./lifecycle) works with. */
export type LifecycleParts = {
  secretsKey: string | undefined
  provider: SandboxProvider
  store: SessionStore
  signals: SessionSignals
  status: StatusPort
  queue: MessageQueue
  turns: Turns
  human: HumanRequests
  events: AgentEvents
  connection: AgentConnection
  source: SandboxSource
  checkpoints: Checkpoints
  /** the watchdog's limits, the first retry of a refused pause (TIMINGS pauseRetryMs), the plan's run limit */
  settings: { watchdog: WatchdogLimits; timings: Pick<Timings, 'pauseRetryMs'>; e2bLimits: E2BLimits }
  /** clients watching the session's stream: a watched session is not paused */
  watchers(): number
  /** the session's terminals: they close as the sandbox stops running */
  terminals: { closeAll(why: 'paused' | 'lost' | 'ended'): void }
}

