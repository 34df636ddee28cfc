import { DurableObject } from 'cloudflare:workers'
import { POOL_NAME, type PoolRpc } from '../durable-objects'
import type { Bindings } from '../env'
import { newGatewayToken } from '../gateway/token'
import { gatewayTokenKey } from '../gateway/token-key'
import { newId, randomSecret } from '../lib/ids'
import { errorMessage, log } from '../lib/log'
import { agentClient, waitForOpencode } from '../opencode/client'
import { ensureAgentSession } from '../opencode/session'
import { readSettings, type Settings } from '../config/settings'
import { migrate } from '../lib/migrations'
import { sandboxPlan, settingsFingerprint } from '../sandbox/plan'
import { afterRefillFailure, refillBlockedUntil, type RefillState } from '../sandbox/pool-backoff'
import { PoolMakes } from './makes'
import { budgetNow, runPauseAt } from '../sandbox/e2b-limits'
import { refillsToStart } from '../sandbox/pool-refill'
import { POOL_MIGRATIONS } from './schema'
import type { SandboxEndpoint, SandboxProvider } from '../sandbox/provider'
import { provisionSandbox } from '../sandbox/provision'
import type { RepoWarmSandbox, WarmSandbox } from '../sandbox/record'
import { RepoPools } from './repo-pool-store'
import { sandboxProvider } from '../sandbox/select'
import { SANDBOX_GRACE_MS } from '../sandbox/timeouts'

/** Where the refill failures and any pause of refills are kept. */
const REFILL_STATE = 'refill'

/** A warm sandbox older than this is replaced: it costs money and its template may have moved on. */
const MAX_AGE_MS = 60 * 60_000

/**
 * A warm sandbox is also replaced well before its provider would end it on its own (it was
 * created with the provider timeout of a new session), so a session never takes one about to go.
 */
function maxAgeMs(providerTimeoutMs: number, maxRunMs: number | undefined): number {
  const ceiling = Math.min(MAX_AGE_MS, providerTimeoutMs - SANDBOX_GRACE_MS / 2)
  // Nor one that would have to pause for the plan's run limit as soon as a session took it.
  return maxRunMs === undefined ? ceiling : Math.min(ceiling, runPauseAt(0, maxRunMs) / 2)
}

/** Waits for opencode, then makes the session the sandbox's one user will talk to. */
function readyAgentSession(agentCallMs: number) {
  return async (endpoint: SandboxEndpoint, password: string, workdir: string): Promise<string> => {
    await waitForOpencode(endpoint, password)
    return ensureAgentSession(agentClient(endpoint, password, workdir, { timeoutMs: agentCallMs }))
  }
}

/**
 * The warm pool: WARM_POOL_SIZE ready sandboxes, so a plain new session takes one instead of
 * booting. Each is handed out once and never comes back; refilling happens in the background,
 * through this object's alarm.
 */
export class SandboxPool extends DurableObject<Bindings> implements PoolRpc {
  private readonly sql: SqlStorage
  /** Built once: an object's settings are its deployment's, fixed for its life. */
  private readonly provider: SandboxProvider
  private refill: RefillState | undefined
  private readonly makes: PoolMakes
  private readonly repoPools: RepoPools
  private readonly readyAgent: (endpoint: SandboxEndpoint, password: string, workdir: string) => Promise<string>

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    const settings = readSettings(env)
    this.provider = sandboxProvider(settings)
    migrate(this.sql, POOL_MIGRATIONS)
    this.readyAgent = readyAgentSession(settings.timings.agentCallMs)
    this.makes = new PoolMakes(this.sql, this.provider)
    this.repoPools = new RepoPools(this.sql, this.provider, env, this.readyAgent, () => this.tokenKey(), this.makes, () => this.alarmSoon())
  }

  /** Hands out a ready sandbox of a repository pool (WARM_POOLS), if there is one; see RepoPools. */
  async takeRepo(pool: string, fingerprint: string, sessionId: string): Promise<RepoWarmSandbox | null> {
    const warm = this.repoPools.take(pool, fingerprint, sessionId)
    // Each pool backs off on its own (RepoPools.refill), so the bare pool's pause does not hold this.
    await this.alarmSoon()
    return warm
  }

  /** A verified push moved these repository pools' ref: they are refreshed in the background. */
  async pushed(pools: string[], commit: string): Promise<void> {
    this.repoPools.pushed(pools, commit)
    await this.alarmSoon()
  }

  async repoStatus(): Promise<{ target: number; ready: number }> {
    return this.repoPools.status(readSettings(this.env).warmPools)
  }

  /** Hands out the oldest ready sandbox made under these settings, if there is one. */
  async take(fingerprint: string, sessionId: string): Promise<WarmSandbox | null> {
    const row = this.sql
      .exec<{ sandbox_id: string; record: string }>(
        'SELECT sandbox_id, record FROM warm WHERE fingerprint = ? ORDER BY created_at LIMIT 1',
        fingerprint,
      )
      .toArray()[0]
    if (!row) {
      await this.refillSoon()
      return null
    }
    const warm = JSON.parse(row.record) as WarmSandbox
    this.sql.exec('DELETE FROM warm WHERE sandbox_id = ?', row.sandbox_id)
    this.sql.exec('INSERT OR REPLACE INTO taken (owner, session_id) VALUES (?, ?)', warm.gatewayOwner, sessionId)
    // The session waits for the sandbox, not for the refill's alarm to be set: that follows the answer.
    this.ctx.waitUntil(this.refillSoon().catch((err: unknown) => log('warn', 'warm pool refill not scheduled', { err: errorMessage(err) })))
    return warm
  }

  /**
   * A sandbox taken for a session that was then refused (SandboxSource.takeEarly) comes back
   * unused, as the newest of the pool. The refill its take started may leave the pool one over
   * its size until the next take.
   */
  async giveBack(fingerprint: string, warm: WarmSandbox): Promise<void> {
    this.sql.exec('DELETE FROM taken WHERE owner = ?', warm.gatewayOwner)
    this.sql.exec(
      'INSERT OR REPLACE INTO warm (sandbox_id, record, fingerprint, created_at) VALUES (?, ?, ?, ?)',
      warm.sandboxId,
      JSON.stringify(warm),
      fingerprint,
      Date.now(),
    )
  }

  /** The session a warm sandbox's gateway token now speaks for, if one took it. */
  /**
   * The deployment's random key for gateway tokens, made on first asking and kept: what they are
   * signed with when there is no SECRETS_KEY (see gateway/token-key.ts).
   */
  async gatewayKeyText(): Promise<string> {
    this.sql.exec('INSERT OR IGNORE INTO token_key (id, value) VALUES (1, ?)', randomSecret(32))
    return this.sql.exec<{ value: string }>('SELECT value FROM token_key WHERE id = 1').one().value
  }

  private tokenKey(): Promise<CryptoKey> {
    return gatewayTokenKey(this.env.SECRETS_KEY, () => this.gatewayKeyText())
  }

  async ownerOf(owner: string): Promise<string | null> {
    return this.sql.exec<{ session_id: string }>('SELECT session_id FROM taken WHERE owner = ?', owner).toArray()[0]?.session_id ?? null
  }

  /** Starts filling the pool if it is short; `origin` is where its sandboxes reach the gateway when PUBLIC_URL is not set. */
  async ensure(origin: string): Promise<void> {
    this.sql.exec('INSERT OR REPLACE INTO origin (id, url) VALUES (1, ?)', origin)
    await this.refillSoon()
    if (readSettings(this.env).warmPools.length > 0) await this.alarmSoon()
  }

  /** How many sandboxes are ready, and until when refills are paused after failing again and again. */
  async status(): Promise<{ ready: number; refillPausedUntil: number | null }> {
    const { pausedUntil } = await this.refillState()
    return { ready: this.count(), refillPausedUntil: pausedUntil !== null && pausedUntil > Date.now() ? pausedUntil : null }
  }

  /** Read from storage once per object life: every take asks whether refills are paused. */
  private async refillState(): Promise<RefillState> {
    this.refill ??= (await this.ctx.storage.get<RefillState>(REFILL_STATE)) ?? { failures: [], pausedUntil: null }
    return this.refill
  }

  private async saveRefillState(state: RefillState | undefined) {
    this.refill = state ?? { failures: [], pausedUntil: null }
    await (state ? this.ctx.storage.put(REFILL_STATE, state) : this.ctx.storage.delete(REFILL_STATE))
  }

  private count(): number {
    return Number(this.sql.exec('SELECT COUNT(*) AS n FROM warm').one().n)
  }

  /**
   * Bounded work: kills what is stale or left half-made, and starts at most one make per pool (in
   * the background, see PoolMakes); when more are wanted the next alarm is at once. The next wake
   * is set before any work, so an alarm that fails or is cut short does not end the refills, and
   * while makes run the pool wakes every `wakeMs` to keep their sandboxes alive at the provider.
   */
  override async alarm(): Promise<void> {
    const settings = readSettings(this.env)
    const fallback = Date.now() + settings.timings.wakeMs
    await this.ctx.storage.setAlarm(fallback)
    const fingerprint = settingsFingerprint(settings)
    const maxAge = maxAgeMs(settings.e2b.timeoutMs, settings.e2bLimits.maxRunMs)
    const origin = settings.publicUrl ?? this.sql.exec<{ url: string }>('SELECT url FROM origin').toArray()[0]?.url
    await this.makes.reap()
    await this.makes.keepAlive(settings.e2b.timeoutMs)
    const bare = await this.refillBare(settings, fingerprint, maxAge, origin)
    const repo = await this.repoPools.refill(settings, fingerprint, origin, maxAge, () => this.roomForOne(settings))
    // A take, a push or a make ending during this alarm asked for another round: it is kept.
    const asked = await this.ctx.storage.getAlarm()
    const next = [bare, repo, this.makes.count() > 0 ? fallback : null, asked !== null && asked < fallback ? asked : null].filter((t) => t !== null)
    await (next.length > 0 ? this.ctx.storage.setAlarm(Math.min(...next)) : this.ctx.storage.deleteAlarm())
  }

  /** The bare sandboxes' refills; when they want the alarm next, if at all. */
  private async refillBare(settings: Settings, fingerprint: string, maxAge: number, origin: string | undefined): Promise<number | null> {
    const stale = this.sql
      .exec<{ sandbox_id: string }>('SELECT sandbox_id FROM warm WHERE fingerprint != ? OR created_at < ?', fingerprint, Date.now() - maxAge)
      .toArray()
    for (const { sandbox_id } of stale) {
      this.sql.exec('DELETE FROM warm WHERE sandbox_id = ?', sandbox_id)
      await this.provider.kill(sandbox_id).catch(() => {})
    }
    // The alarm also goes off for the repository pools (a take, a push, their own refills); those
    // wakes do not end this pool's pause or a failure's wait, or a take during an outage would ask the provider again.
    const blocked = refillBlockedUntil(await this.refillState(), Date.now())
    if (blocked !== null) return blocked
    const oldest = this.sql.exec<{ t: number | null }>('SELECT MIN(created_at) AS t FROM warm').one().t
    const expiry = oldest === null ? null : Number(oldest) + maxAge
    if (!origin) return expiry
    const wanted = refillsToStart({
      ready: this.count(),
      target: settings.warmPoolSize,
      making: this.makes.count(POOL_NAME),
      limit: settings.warmPoolConcurrency,
      failed: false,
    })
    if (wanted === 0) return expiry
    // Past the deployment's sandbox budget, the pool waits rather than take a session's room.
    if (!(await this.roomForOne(settings))) return Date.now() + settings.timings.refillRetryMs
    this.makes.start(POOL_NAME, (created) => this.makeWarmSandbox(settings, fingerprint, origin, created), (error) => this.bareMade(settings, error))
    // One make per alarm; the next is started by an alarm at once, up to WARM_POOL_CONCURRENCY.
    return wanted > 1 ? Date.now() : expiry
  }

  /** Whether the sandbox budget (E2B_MAX_SANDBOXES) leaves the pools room for one more; they stop one short of it. */
  private async roomForOne(settings: Settings): Promise<boolean> {
    return (await budgetNow(this.provider, settings.e2bLimits.maxSandboxes, true)).ok
  }

  /** A bare make ended: failures count toward the backoff, a success clears it; either way the next round comes now. */
  private async bareMade(settings: Settings, error: unknown) {
    if (error === undefined) {
      if ((await this.refillState()).failures.length > 0) await this.saveRefillState(undefined)
    } else {
      const next = afterRefillFailure(await this.refillState(), Date.now(), settings.timings)
      log('warn', 'warm pool refill failed', { err: errorMessage(error), ...(next.pausedUntil && { pausedUntil: new Date(next.pausedUntil).toISOString() }) })
      await this.saveRefillState(next)
    }
    await this.alarmSoon()
  }

  private async makeWarmSandbox(settings: Settings, fingerprint: string, origin: string, created: (sandboxId: string) => void): Promise<void> {
    const password = randomSecret()
    const gateway = await newGatewayToken(newId('wrm'), await this.tokenKey())
    const plan = sandboxPlan(settings, {}, undefined, password, { pool: POOL_NAME }, { url: `${origin}/v1/gateway`, token: gateway.token })
    const runningSince = Date.now()
    const made = await provisionSandbox(this.provider, plan, () => {}, created)
    const agentSessionId = await this.readyAgent(made.endpoint, password, made.workdir).catch(async (err: unknown) => {
      await this.provider.kill(made.sandboxId).catch(() => {})
      throw err
    })
    const warm: WarmSandbox = { ...made, password, agentSessionId, gatewayDigest: gateway.digest, gatewayOwner: gateway.owner, runningSince }
    this.sql.exec(
      'INSERT INTO warm (sandbox_id, record, fingerprint, created_at) VALUES (?, ?, ?, ?)',
      made.sandboxId,
      JSON.stringify(warm),
      fingerprint,
      Date.now(),
    )
  }

  private async refillSoon() {
    const settings = readSettings(this.env)
    if (settings.warmPoolSize === 0 && this.count() === 0) return
    // While refills are paused after failing, the alarm already waits for the pause to end.
    const { pausedUntil } = await this.refillState()
    if (pausedUntil !== null && pausedUntil > Date.now()) return
    await this.alarmSoon()
  }

  private async alarmSoon() {
    const current = await this.ctx.storage.getAlarm()
    if (current === null || current > Date.now() + 1_000) await this.ctx.storage.setAlarm(Date.now())
  }
}
