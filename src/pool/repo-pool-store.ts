import type { Bindings } from '../env'
import { newGatewayToken } from '../gateway/token'
import { newId, randomSecret } from '../lib/ids'
import { errorMessage, log } from '../lib/log'
import { cloneToken } from '../github/credentials'
import type { Settings } from '../config/settings'
import { sandboxPlan } from '../sandbox/plan'
import { afterRefillFailure, refillBlockedUntil, type RefillState } from '../sandbox/pool-backoff'
import type { PoolMakes } from './makes'
import type { SandboxEndpoint, SandboxProvider } from '../sandbox/provider'
import { provisionSandbox } from '../sandbox/provision'
import type { RepoWarmSandbox, WarmSandbox } from '../sandbox/record'
import { chooseRepoSandbox, poolKey, repoPoolWork, type PoolHead, type PooledRow, type WarmPoolEntry } from '../sandbox/repo-pools'
import { commitOf } from '../sandbox/snapshots'


/** Marks a sandbox of a repository pool among the provider's sandboxes. */
export const REPO_POOL_METADATA = { pool: 'repo' }

type Row = { sandbox_id: string; pool: string; record: string; fingerprint: string; commit_sha: string; created_at: number }

const pooled = (r: Row): PooledRow => ({ sandboxId: r.sandbox_id, pool: r.pool, fingerprint: r.fingerprint, commit: r.commit_sha, createdAt: Number(r.created_at) })

/**
 * The repository pools' part of the warm pool object (WARM_POOLS): their sandboxes in its SQLite,
 * handed out once each, replaced in the background when they age, when a push moves their ref,
 * or when the settings change (repoPoolWork decides). Refills of one pool back off on their own,
 * so a repository that cannot be cloned holds up no other.
 */
export class RepoPools {
  constructor(
    private readonly sql: SqlStorage,
    private readonly provider: SandboxProvider,
    private readonly env: Bindings,
    /** waits for a new sandbox's opencode and opens the session its one user will talk to */
    private readonly readyAgent: (endpoint: SandboxEndpoint, password: string, workdir: string) => Promise<string>,
    /** what the sandboxes' gateway tokens are signed with (see gateway/token-key.ts) */
    private readonly tokenKey: () => Promise<CryptoKey>,
    /** the pool object's makes under way, which these refills share */
    private readonly makes: PoolMakes,
    /** asks the pool object for another round at once (a make ended) */
    private readonly again: () => Promise<void>,
  ) {}

  private rows(pool?: string): Row[] {
    return pool === undefined
      ? this.sql.exec<Row>('SELECT * FROM repo_warm').toArray()
      : this.sql.exec<Row>('SELECT * FROM repo_warm WHERE pool = ?', pool).toArray()
  }

  private heads(): PoolHead[] {
    return this.sql
      .exec<{ pool: string; commit_sha: string; at: number }>('SELECT * FROM repo_head')
      .toArray()
      .map((h) => ({ pool: h.pool, commit: h.commit_sha, at: Number(h.at) }))
  }

  /** Hands out a ready sandbox of pool `pool` made under these settings; the session `sessionId` owns its gateway token from now on. */
  take(pool: string, fingerprint: string, sessionId: string): RepoWarmSandbox | null {
    const rows = this.rows(pool).filter((r) => r.fingerprint === fingerprint)
    const chosen = chooseRepoSandbox(rows.map((r) => ({ ...pooled(r), row: r })), this.heads().find((h) => h.pool === pool))
    if (!chosen) return null
    this.sql.exec('DELETE FROM repo_warm WHERE sandbox_id = ?', chosen.sandboxId)
    const warm = JSON.parse(chosen.row.record) as WarmSandbox
    this.sql.exec('INSERT OR REPLACE INTO taken (owner, session_id) VALUES (?, ?)', warm.gatewayOwner, sessionId)
    return { ...warm, commit: chosen.commit, createdAt: chosen.createdAt }
  }

  /** A push moved these pools' ref to `commit`: their sandboxes made before now are behind. */
  pushed(pools: string[], commit: string) {
    for (const pool of pools) this.sql.exec('INSERT OR REPLACE INTO repo_head (pool, commit_sha, at) VALUES (?, ?, ?)', pool, commit, Date.now())
  }

  status(entries: WarmPoolEntry[]): { target: number; ready: number } {
    const keys = new Set(entries.map(poolKey))
    return { target: entries.reduce((n, e) => n + e.size, 0), ready: this.rows().filter((r) => keys.has(r.pool)).length }
  }

  /** Pools whose refills wait (paused, or a failure's retry not due), and until when each does. */
  private blocked(now: number): Map<string, number> {
    const rows = this.sql.exec<{ pool: string; state: string }>('SELECT * FROM repo_refill').toArray()
    const blocked = new Map<string, number>()
    for (const r of rows) {
      const until = refillBlockedUntil(JSON.parse(r.state) as RefillState, now)
      if (until !== null) blocked.set(r.pool, until)
    }
    return blocked
  }

  /**
   * Kills what is stale and starts making one missing sandbox (in the background, see PoolMakes;
   * one repository make at a time, as each holds a clone and a setup), and says when to come back:
   * at once when more are missing and none is being made, the next retry of a failing pool, or the
   * oldest sandbox's age.
   */
  async refill(
    settings: Settings,
    fingerprint: string,
    origin: string | undefined,
    maxAgeCeilingMs: number,
    /** whether the sandbox budget leaves room for one more */
    roomForOne: () => Promise<boolean>,
  ): Promise<number | null> {
    const entries = settings.warmPools
    const byKey = new Map(entries.map((e) => [poolKey(e), e]))
    const now = Date.now()
    const blocked = this.blocked(now)
    const work = repoPoolWork(entries, this.rows().map(pooled), this.heads(), { now, fingerprint, maxAgeCeilingMs, paused: new Set(blocked.keys()) })
    for (const sandboxId of work.kill) {
      this.sql.exec('DELETE FROM repo_warm WHERE sandbox_id = ?', sandboxId)
      await this.provider.kill(sandboxId).catch(() => {})
    }
    const retryAt = blocked.size > 0 ? Math.min(...blocked.values()) : null
    const making = entries.reduce((n, e) => n + this.makes.count(poolKey(e)), 0)
    const next = work.make[0]
    if (next === undefined || !origin || making > 0) return minTime(work.nextAt, retryAt)
    if (!(await roomForOne())) return minTime(work.nextAt, minTime(retryAt, Date.now() + settings.timings.refillRetryMs))
    this.makes.start(next, (created) => this.make(settings, byKey.get(next)!, fingerprint, origin, created), (error) => this.made(settings, next, error))
    return minTime(work.nextAt, retryAt)
  }

  /** A make for `pool` ended: a failure counts toward the pool's backoff, a success clears it; the next round comes now. */
  private async made(settings: Settings, pool: string, error: unknown) {
    if (error === undefined) {
      this.sql.exec('DELETE FROM repo_refill WHERE pool = ?', pool)
    } else {
      const state = this.sql.exec<{ state: string }>('SELECT state FROM repo_refill WHERE pool = ?', pool).toArray()[0]
      const after = afterRefillFailure(state ? (JSON.parse(state.state) as RefillState) : { failures: [], pausedUntil: null }, Date.now(), settings.timings)
      log('warn', 'repository warm pool refill failed', { err: errorMessage(error), ...(after.pausedUntil && { pausedUntil: new Date(after.pausedUntil).toISOString() }) })
      this.sql.exec('INSERT OR REPLACE INTO repo_refill (pool, state) VALUES (?, ?)', pool, JSON.stringify(after))
    }
    await this.again()
  }

  /**
   * One sandbox for `entry`: cloned at its ref (a private GitHub repository with the deployment's
   * credential, which provisionSandbox removes right after the clone), set up, opencode ready.
   */
  private async make(settings: Settings, entry: WarmPoolEntry, fingerprint: string, origin: string, created: (sandboxId: string) => void) {
    const password = randomSecret()
    const gateway = await newGatewayToken(newId('wrm'), await this.tokenKey())
    const spec = { repo: { url: entry.repo, ...(entry.ref && { ref: entry.ref }) }, ...(entry.setup && { setup: entry.setup }) }
    const plan = sandboxPlan(settings, spec, undefined, password, REPO_POOL_METADATA, { url: `${origin}/v1/gateway`, token: gateway.token })
    const repoToken = await cloneToken(this.env, entry.repo)
    const createdAt = Date.now()
    const made = await provisionSandbox(this.provider, { ...plan, ...(repoToken && { repoToken }) }, () => {}, created)
    try {
      const commit = commitOf((await this.provider.exec(made.sandboxId, 'git rev-parse HEAD', { cwd: made.workdir })).stdout)
      if (!commit) throw new Error('the clone has no commit')
      const agentSessionId = await this.readyAgent(made.endpoint, password, made.workdir)
      const warm: WarmSandbox = { ...made, password, agentSessionId, gatewayDigest: gateway.digest, gatewayOwner: gateway.owner, runningSince: createdAt }
      this.sql.exec(
        'INSERT INTO repo_warm (sandbox_id, pool, record, fingerprint, commit_sha, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        made.sandboxId,
        poolKey(entry),
        JSON.stringify(warm),
        fingerprint,
        commit,
        createdAt,
      )
    } catch (err) {
      await this.provider.kill(made.sandboxId).catch(() => {})
      throw err
    }
  }
}

function minTime(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b)
}
