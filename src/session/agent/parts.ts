import type { Timings } from '../../config/timings'
import type { PublicEvent } from '../../contracts'
import type { SessionSignals, StatusPort } from '../ports'
import type { SessionStore } from '../store/session-store'
import type { Turns } from '../turns/turns'
import type { AgentEvents } from './events'
import type { HumanRequests } from './human-requests'

/** What the session's connection to its agent works with, whatever the runtime. */
export type ConnectionParts = {
  store: SessionStore
  signals: SessionSignals
  status: StatusPort
  events: AgentEvents
  turns: Turns
  human: HumanRequests
  /** the link's silence and open deadlines, and opencode's per-request deadline */
  timings: Pick<Timings, 'silenceMs' | 'agentOpenMs' | 'agentCallMs'>
  /** the provider's watch on the agent process (SandboxProvider.agentExit) */
  agentExit(sandboxId: string, signal: AbortSignal): Promise<string>
  /** the earlier conversation as the log keeps it, and the most its transcript may hold: for an agent that cannot take back a record of its own (ACP) */
  transcript: { events(): PublicEvent[]; maxBytes: number }
}
