import type { SessionDO } from './session/durable-object'
import type { RunDO } from './runs/durable-object'
import type { SandboxPool } from './sandbox/pool'
import type { TenantIndex } from './tenant/durable-object'

/** Worker bindings: wrangler.toml vars, secrets and Durable Object namespaces. */
export type Bindings = {
  SESSIONS: DurableObjectNamespace<SessionDO>
  TENANTS: DurableObjectNamespace<TenantIndex>
  POOL: DurableObjectNamespace<SandboxPool>
  API_KEYS?: string
  SANDBOX_PROVIDER?: string
  LOCAL_SANDBOX_URL?: string
  LOCAL_SANDBOX_TOKEN?: string
  E2B_API_KEY?: string
  E2B_TEMPLATE?: string
  E2B_API_URL?: string
  E2B_SANDBOX_URL?: string
  OPENCODE_CONFIG?: string
  DEFAULT_MODEL?: string
  SESSION_IDLE_SECONDS?: string
  PENDING_TIMEOUT_SECONDS?: string
  WARM_POOL_SIZE?: string
  RUNS: DurableObjectNamespace<RunDO>
  WEBHOOK_SECRET?: string
  /** the API key whose tenant owns webhook-started runs (default: the first of API_KEYS) */
  WEBHOOK_TENANT_KEY?: string
  GITHUB_WEBHOOK_SECRET?: string
  GITHUB_TOKEN?: string
  GITHUB_API_URL?: string
  /** the phrase in an issue or comment that starts a run (default /opencode) */
  GITHUB_TRIGGER?: string
  /** Workers Analytics Engine dataset for usage points (optional; README, "Usage") */
  USAGE?: AnalyticsEngineDataset
}

/** `apiKey` is set only when the request came with one (not with a session token). */
export type AppEnv = { Bindings: Bindings; Variables: { tenant: string; apiKey?: string } }
