import { bundledSetting } from './bundled-settings'
import type { Bindings } from '../env'
import { parseTenantRepos, type TenantRepos } from '../github/tenant-repos'
import type { E2BOptions } from '../sandbox/e2b'
import { parseE2BLimits, type E2BLimits } from '../sandbox/e2b-limits'
import { DEFAULT_REFILL_CONCURRENCY, MAX_REFILL_CONCURRENCY } from '../sandbox/pool-refill'
import { parseWarmPools, type WarmPoolEntry } from '../sandbox/repo-pools'
import type { SnapshotPolicy } from '../sandbox/snapshots'
import { PROVISION_WATCHDOG_MS, RECOVERY_WATCHDOG_MS, SANDBOX_GRACE_MS } from '../sandbox/timeouts'
import { countSetting } from '../lib/count-setting'
import { MIN_SECRETS_KEY_LENGTH } from '../lib/sealed'
import { MAX_FILE_BYTES } from '../sandbox/file-content'
import { parseTimings, type Timings } from './timings'

/** The template's name, as e2b.toml gives it (`npm run template:build` builds it under this name). */
export const E2B_TEMPLATE = 'opencode-sandbox-worker'

/** Deployment settings read from the Worker's variables, with the defaults the README documents. */
export type Settings = {
  provider: 'local' | 'e2b'
  localSandboxUrl: string
  localSandboxToken: string | undefined
  /** OPENCODE_CONFIG as JSON text (the variable, else deployment-settings.json's); parsed where it is used so a bad value fails one session clearly. */
  opencodeConfig: string | undefined
  defaultModel: string | undefined
  idleSeconds: number
  /** How long a request waits for a human before it is rejected (PENDING_TIMEOUT_SECONDS). */
  pendingTimeoutSeconds: number
  e2b: E2BOptions
  /** The E2B plan's limits kept within (E2B_MAX_SANDBOXES, E2B_MAX_RUN_SECONDS); none when unset or not valid (readiness says why). */
  e2bLimits: E2BLimits
  /** Ready sandboxes kept for new sessions (WARM_POOL_SIZE, default 0). */
  warmPoolSize: number
  /** Sandboxes the warm pool makes at once while it is short (WARM_POOL_CONCURRENCY, default 4, at most 10). */
  warmPoolConcurrency: number
  /** Ready sandboxes per repository (WARM_POOLS, the variable or deployment-settings.json's); none when unset or not valid (readiness says why). */
  warmPools: WarmPoolEntry[]
  /** Model provider keys (every `*_API_KEY` but E2B's), held by the model gateway and never handed to a sandbox. */
  providerKeys: Record<string, string>
  /** How sandboxes reach the Worker's model gateway (PUBLIC_URL); else the origin a session was created at. */
  publicUrl: string | undefined
  /** Sessions a tenant may have open at once (MAX_ACTIVE_SESSIONS_PER_TENANT, default 20). */
  maxActiveSessions: number
  /** Sessions a tenant may create per minute (MAX_SESSION_CREATES_PER_MINUTE, default 60). */
  sessionCreatesPerMinute: number
  /** Runs a tenant may start per minute (MAX_RUN_CREATES_PER_MINUTE, default 30); readiness reports a malformed value. */
  runCreatesPerMinute: number
  /** Schedules a tenant may have (MAX_SCHEDULES_PER_TENANT, default 20); readiness reports a malformed value. */
  maxSchedules: number
  /** What a tenant's model calls may cost per UTC day (TENANT_MAX_COST_USD_PER_DAY); none by default. */
  tenantMaxCostPerDay: number | undefined
  /** What a tenant's model calls may cost per UTC calendar month (TENANT_MAX_COST_USD_PER_MONTH); none by default. */
  tenantMaxCostPerMonth: number | undefined
  /** How long a paused session is kept before it ends and its sandbox goes (PAUSED_RETENTION_SECONDS, default 7 days). */
  pausedRetentionSeconds: number
  /** How long an ended session's storage is kept before it is deleted (ENDED_RETENTION_SECONDS, default 30 days). */
  endedRetentionSeconds: number
  /** How long making, or resuming and recovering, a sandbox may take before it is abandoned (PROVISION_TIMEOUT_SECONDS, RECOVERY_TIMEOUT_SECONDS). */
  watchdog: { provisionMs: number; recoverMs: number }
  /** Repository snapshots (SNAPSHOT_MAX_AGE_SECONDS, default 1 day, 0 for none; SNAPSHOTS_PER_REPO, default 2). */
  snapshots: SnapshotPolicy
  /** Which tenant's runs may use the deployment's GitHub credential on which repositories (GITHUB_TENANT_REPOS); none when unset or not valid (readiness says why). */
  githubTenantRepos: TenantRepos
  /** The intervals and deadlines behind the documented bounds (TIMINGS, for tests); the defaults when unset or not valid (readiness says why). */
  timings: Timings
  /** The most one checkpoint may hold, compressed (CHECKPOINT_MAX_BYTES, default 8 MiB, at most 10 MiB); readiness reports a malformed value. */
  checkpointMaxBytes: number
  /** The most the earlier conversation given to an agent that cannot import its own record may hold (TRANSCRIPT_MAX_BYTES, default 64 KiB); readiness reports a malformed value. */
  transcriptMaxBytes: number
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value)
  return value !== undefined && value !== '' && Number.isFinite(n) && n > 0 ? n : fallback
}

const NOT_PROVIDER_KEYS = new Set(['E2B_API_KEY'])

export function readSettings(env: Bindings): Settings {
  const providerKeys: Record<string, string> = {}
  for (const [name, value] of Object.entries(env as Record<string, unknown>)) {
    if (typeof value === 'string' && value && /_API_KEY$/.test(name) && !NOT_PROVIDER_KEYS.has(name)) providerKeys[name] = value
  }
  const idle = Number(env.SESSION_IDLE_SECONDS)
  const idleSeconds = Number.isFinite(idle) && idle > 0 ? idle : 900
  const pending = Number(env.PENDING_TIMEOUT_SECONDS)
  const pool = Number(env.WARM_POOL_SIZE)
  return {
    provider: env.SANDBOX_PROVIDER === 'e2b' ? 'e2b' : 'local',
    localSandboxUrl: env.LOCAL_SANDBOX_URL || 'http://127.0.0.1:8790',
    localSandboxToken: env.LOCAL_SANDBOX_TOKEN || undefined,
    opencodeConfig: bundledSetting(env, 'OPENCODE_CONFIG'),
    defaultModel: env.DEFAULT_MODEL || undefined,
    idleSeconds,
    pendingTimeoutSeconds: Number.isFinite(pending) && pending > 0 ? pending : 600,
    warmPoolSize: Number.isInteger(pool) && pool > 0 ? Math.min(pool, 20) : 0,
    warmPoolConcurrency: Math.min(Math.max(1, Math.floor(positive(env.WARM_POOL_CONCURRENCY, DEFAULT_REFILL_CONCURRENCY))), MAX_REFILL_CONCURRENCY),
    warmPools: parseWarmPools(bundledSetting(env, 'WARM_POOLS')).entries,
    e2b: {
      apiKey: env.E2B_API_KEY || undefined,
      template: env.E2B_TEMPLATE || E2B_TEMPLATE,
      apiUrl: env.E2B_API_URL || undefined,
      sandboxUrl: env.E2B_SANDBOX_URL || undefined,
      // E2B ends a sandbox we lost track of a while after it would have gone idle anyway.
      timeoutMs: idleSeconds * 1000 + SANDBOX_GRACE_MS,
    },
    e2bLimits: parseE2BLimits(env).limits,
    providerKeys,
    publicUrl: env.PUBLIC_URL ? env.PUBLIC_URL.replace(/\/+$/, '') : undefined,
    maxActiveSessions: Math.floor(positive(env.MAX_ACTIVE_SESSIONS_PER_TENANT, 20)),
    sessionCreatesPerMinute: Math.floor(positive(env.MAX_SESSION_CREATES_PER_MINUTE, 60)),
    runCreatesPerMinute: runCreatesPerMinute(env).value,
    maxSchedules: maxSchedules(env).value,
    tenantMaxCostPerDay: env.TENANT_MAX_COST_USD_PER_DAY ? positive(env.TENANT_MAX_COST_USD_PER_DAY, Infinity) : undefined,
    tenantMaxCostPerMonth: env.TENANT_MAX_COST_USD_PER_MONTH ? positive(env.TENANT_MAX_COST_USD_PER_MONTH, Infinity) : undefined,
    pausedRetentionSeconds: positive(env.PAUSED_RETENTION_SECONDS, 7 * 86_400),
    endedRetentionSeconds: positive(env.ENDED_RETENTION_SECONDS, 30 * 86_400),
    watchdog: {
      provisionMs: positive(env.PROVISION_TIMEOUT_SECONDS, PROVISION_WATCHDOG_MS / 1000) * 1000,
      recoverMs: positive(env.RECOVERY_TIMEOUT_SECONDS, RECOVERY_WATCHDOG_MS / 1000) * 1000,
    },
    snapshots: {
      maxAgeMs: env.SNAPSHOT_MAX_AGE_SECONDS === '0' ? 0 : positive(env.SNAPSHOT_MAX_AGE_SECONDS, 86_400) * 1000,
      keep: Math.floor(positive(env.SNAPSHOTS_PER_REPO, 2)),
    },
    githubTenantRepos: parseTenantRepos(env.GITHUB_TENANT_REPOS).grants,
    timings: parseTimings(env.TIMINGS).timings,
    checkpointMaxBytes: checkpointMaxBytes(env).value,
    transcriptMaxBytes: transcriptMaxBytes(env).value,
  }
}

export const DEFAULT_CHECKPOINT_MAX_BYTES = 8 * 1024 * 1024

/**
 * CHECKPOINT_MAX_BYTES read, with the reason when it is malformed or too large (for /ready): a
 * checkpoint's archive is read out of the sandbox as one file, and files are read up to 10 MiB.
 */
export function checkpointMaxBytes(env: Bindings): { value: number; error?: string } {
  const text = env.CHECKPOINT_MAX_BYTES?.trim()
  if (!text) return { value: DEFAULT_CHECKPOINT_MAX_BYTES }
  if (!/^\d+$/.test(text) || Number(text) < 1) return { value: DEFAULT_CHECKPOINT_MAX_BYTES, error: 'CHECKPOINT_MAX_BYTES is not valid: expected a whole number of bytes' }
  if (Number(text) > MAX_FILE_BYTES) return { value: MAX_FILE_BYTES, error: `CHECKPOINT_MAX_BYTES is over ${MAX_FILE_BYTES} (10 MiB), the most a checkpoint can hold; 10 MiB holds` }
  return { value: Number(text) }
}

/** Why this deployment keeps no checkpoints, or nothing when it does: they need their bucket, and SECRETS_KEY to seal them. */
export function checkpointsOff(env: Bindings): string | undefined {
  if (!env.CHECKPOINTS) return 'checkpoints are off: no R2 bucket is bound as CHECKPOINTS'
  if (!env.SECRETS_KEY || env.SECRETS_KEY.length < MIN_SECRETS_KEY_LENGTH) return 'checkpoints are off: SECRETS_KEY is not set, and they are kept sealed under it'
  return undefined
}

/** Runs a tenant may start per minute unless MAX_RUN_CREATES_PER_MINUTE says otherwise. */
export const DEFAULT_RUN_CREATES_PER_MINUTE = 30

/** MAX_RUN_CREATES_PER_MINUTE read, with the reason when it is malformed (for /ready). */
export const runCreatesPerMinute = (env: Bindings) =>
  countSetting('MAX_RUN_CREATES_PER_MINUTE', env.MAX_RUN_CREATES_PER_MINUTE, DEFAULT_RUN_CREATES_PER_MINUTE)

/** Schedules a tenant may have unless MAX_SCHEDULES_PER_TENANT says otherwise. */
export const DEFAULT_MAX_SCHEDULES = 20

/** MAX_SCHEDULES_PER_TENANT read, with the reason when it is malformed (for /ready). */
export const maxSchedules = (env: Bindings) => countSetting('MAX_SCHEDULES_PER_TENANT', env.MAX_SCHEDULES_PER_TENANT, DEFAULT_MAX_SCHEDULES)

/** The transcript a Claude Code or Codex agent in a new sandbox is given, unless TRANSCRIPT_MAX_BYTES says otherwise: some 16k tokens. */
export const DEFAULT_TRANSCRIPT_MAX_BYTES = 64 * 1024

/** TRANSCRIPT_MAX_BYTES read, with the reason when it is malformed (for /ready). */
export const transcriptMaxBytes = (env: Bindings) => countSetting('TRANSCRIPT_MAX_BYTES', env.TRANSCRIPT_MAX_BYTES, DEFAULT_TRANSCRIPT_MAX_BYTES)

/** The tenant behind each API key; keys are never stored, only a digest of each. */
export function apiKeys(env: Bindings): string[] {
  return (env.API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
}

/**
 * What is wrong with the tenant cost caps, for /ready: a value that is not a positive number of
 * USD leaves that cap without a bound (though calls to unpriced models are still refused).
 */
export function costCapProblems(env: Bindings): string[] {
  const caps = { TENANT_MAX_COST_USD_PER_DAY: env.TENANT_MAX_COST_USD_PER_DAY, TENANT_MAX_COST_USD_PER_MONTH: env.TENANT_MAX_COST_USD_PER_MONTH }
  return Object.entries(caps)
    .filter(([, value]) => value !== undefined && value !== '' && !(Number.isFinite(Number(value)) && Number(value) > 0))
    .map(([name]) => `${name} is not a positive number of USD; that cap has no bound until it is`)
}
