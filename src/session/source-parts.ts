import type { Bindings } from '../env'
import type { SandboxProvider } from '../sandbox/provider'
import type { Settings } from '../config/settings'
import type { SessionSignals } from './ports'
import type { SessionStore } from './store/session-store'

/** What the parts that find a session its sandbox (made, from a pool, from a snapshot) work with. */
export type SourceParts = {
  env: Bindings
  settings: Settings
  provider: SandboxProvider
  store: SessionStore
  signals: SessionSignals
}
