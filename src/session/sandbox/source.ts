import { cloneToken } from '../../github/credentials'
import { newGatewayToken } from '../../gateway/token'
import { deploymentTokenKey } from '../../gateway/token-key'
import { randomSecret } from '../../lib/ids'
import { errorMessage, log } from '../../lib/log'
import { sleep } from '../../lib/sleep'
import { canUseWarmSandbox, sandboxPlan, settingsFingerprint } from '../../sandbox/plan'
import { poolStub } from '../../durable-objects'
import { SandboxError } from '../../sandbox/provider'
import { provisionSandbox, type SnapshotOptions } from '../../sandbox/provision'
import type { SandboxRecord, WarmSandbox } from '../../sandbox/record'
import type { SessionSpec } from '../../contracts'
import { provisionRetry, type CreateFailure } from './rules'
import { RepoSnapshots } from './repo-snapshots'
import { takeFromRepoPool } from './repo-pool-source'
import type { SessionSecrets } from '../store/secrets'
import type { SourceParts } from '../source-parts'


/** The session's link to an agent, opened on a warm sandbox before the session is admitted (AgentConnection). */
export type EarlyLink = { openEarly(record: SandboxRecord): void; dropEarly(): void }

/**
 * Where a session's new sandbox comes from: a ready one from the warm pool when the session
 * needs nothing of its own in it, else one made for it (retried while the provider's failure
 * is transient). Either way the sandbox's gateway token is the session's from then on.
 */
export class SandboxSource {
  private readonly snapshots: RepoSnapshots
  /** A warm sandbox asked for while the session was being admitted; the start takes it from here. */
  private early: Promise<WarmSandbox | null> | undefined

  constructor(private readonly p: SourceParts) {
    this.snapshots = new RepoSnapshots(p)
  }

  /**
   * `made` hears of each sandbox created for it the moment it exists, before it is ready.
   * `warm`: the sandbox came from a pool (bare or repository), its agent answering and its agent session made.
   */
  async sandboxFor(spec: SessionSpec, secrets: SessionSecrets, made: (sandboxId: string) => void): Promise<{ record: SandboxRecord; warm: boolean }> {
    const warm = (await this.warm(spec, secrets)) ?? (await takeFromRepoPool(this.p, spec, secrets, made))
    return warm ? { record: warm, warm: true } : { record: await this.create(spec, secrets, made), warm: false }
  }

  /**
   * Takes a warm sandbox for a session being admitted, at the same time as its admission, and
   * opens the link to its agent (`link`) as soon as it is taken: the pool's round trip and the
   * stream's opening are then off a warm start's path. One refused is given back (giveBackEarly).
   * `admit` hears whether a sandbox was taken (`tookWarm`): one taken adds none to the provider's count.
   * `warm`: the session was admitted with a warm sandbox waiting for it.
   */
  async whileAdmitting<T extends { ok: boolean }>(
    sessionId: string,
    spec: SessionSpec,
    secrets: SessionSecrets,
    admit: (tookWarm: () => Promise<boolean>) => Promise<T>,
    link: EarlyLink,
  ): Promise<{ admitted: T; warm: boolean }> {
    const early = this.take(sessionId, spec, secrets).then((warm) => {
      if (warm) link.openEarly(warm)
      return warm
    })
    this.early = early
    const admitted = await admit(async () => (await early) !== null).catch(async (err: unknown) => {
      await this.giveBackEarly(link)
      throw err
    })
    if (!admitted.ok) await this.giveBackEarly(link)
    return { admitted, warm: admitted.ok && (await early) !== null }
  }

  /** The session was not admitted: the sandbox taken for it goes back to the pool, unused. */
  private async giveBackEarly(link: EarlyLink) {
    const warm = await this.early
    this.early = undefined
    link.dropEarly()
    if (warm) await poolStub(this.p.env).giveBack(settingsFingerprint(this.p.settings), warm)
  }

  private async take(sessionId: string, spec: SessionSpec, secrets: SessionSecrets): Promise<WarmSandbox | null> {
    const { settings, env } = this.p
    if (settings.warmPoolSize === 0 || !canUseWarmSandbox(spec, secrets.env, settings.defaultModel, secrets.modelKeys)) return null
    return poolStub(env)
      .take(settingsFingerprint(settings), sessionId)
      .catch((err: unknown) => {
        log('warn', 'warm pool unavailable', { err: errorMessage(err) })
        return null
      })
  }

  private async warm(spec: SessionSpec, secrets: SessionSecrets): Promise<SandboxRecord | null> {
    const { store } = this.p
    const warm = await (this.early ?? this.take(store.row.id, spec, secrets))
    this.early = undefined
    if (!warm) return null
    // From now on the warm sandbox's gateway token speaks for this session.
    store.update({ gateway_digest: warm.gatewayDigest })
    this.p.signals.sandboxState('starting', 'warm')
    return warm
  }

  /**
   * A copy of another session's sandbox (see SandboxProvider.fork) for this session: its own
   * password and gateway token, its own opencode. Killed again if its opencode does not start.
   */
  async forkOf(sandboxId: string, spec: SessionSpec, secrets: SessionSecrets, made: (sandboxId: string) => void): Promise<SandboxRecord> {
    const { plan, password } = await this.newPlan(spec, secrets)
    const createdAt = Date.now()
    const copy = await this.p.provider.fork(sandboxId, { envs: plan.envs, metadata: plan.metadata })
    made(copy.sandboxId)
    try {
      const endpoint = await this.p.provider.startOpencode(copy.sandboxId, { cwd: copy.workdir })
      return { ...copy, endpoint, password, deadline: createdAt + this.p.settings.e2b.timeoutMs, runningSince: createdAt }
    } catch (err) {
      await this.p.provider.kill(copy.sandboxId).catch(() => {})
      throw err
    }
  }

  /** What a sandbox made for this session holds: a new password, and a new gateway token that replaces the last one's. */
  private async newPlan(spec: SessionSpec, secrets: SessionSecrets) {
    const { settings, store } = this.p
    const password = randomSecret()
    const gateway = await newGatewayToken(store.row.id, await deploymentTokenKey(this.p.env))
    // A new sandbox's token replaces the last one's: a lost sandbox can no longer spend.
    store.update({ gateway_digest: gateway.digest })
    const plan = {
      ...sandboxPlan(
        settings,
        spec,
        secrets.env,
        password,
        { sessionId: store.row.id },
        { url: spec.gatewayUrl ?? `${settings.publicUrl}/v1/gateway`, token: gateway.token },
        Object.keys(secrets.modelKeys ?? {}),
      ),
      // An installation token lasts an hour: a sandbox replaced later clones with one of its own.
      repoToken: secrets.repoToken ?? (spec.githubClone && spec.repo ? await cloneToken(this.p.env, spec.repo.url) : undefined),
    }
    return { plan, password }
  }

  /** A sandbox made for the session, never from a pool: also the replacement of a warm one whose agent turned out dead. */
  async create(spec: SessionSpec, secrets: SessionSecrets, made: (sandboxId: string) => void): Promise<SandboxRecord> {
    const { settings, signals } = this.p
    const { plan, password } = await this.newPlan(spec, secrets)
    const snapshot = await this.snapshots.options(spec, secrets)
    const provision = async (options?: SnapshotOptions): Promise<SandboxRecord> => {
      const createdAt = Date.now()
      const provisioned = await provisionSandbox(this.p.provider, plan, (step) => signals.sandboxState('starting', step), made, options)
      return { ...provisioned, password, deadline: createdAt + settings.e2b.timeoutMs, runningSince: createdAt }
    }
    if (snapshot?.from) {
      signals.sandboxState('starting', 'snapshot', { detail: RepoSnapshots.age(snapshot.ageMs ?? 0) })
      try {
        return await provision(snapshot)
      } catch (err) {
        // A snapshot that cannot be brought to the session's ref, or is gone: a fresh clone instead.
        signals.sandboxState('starting', 'snapshot_failed', { detail: errorMessage(err) })
      }
    }
    const fresh = snapshot && { save: snapshot.save }
    for (let attempt = 1; ; attempt++) {
      try {
        return await provision(fresh)
      } catch (err) {
        const next = provisionRetry(createFailure(err), attempt, Math.random())
        if (!next.retry) throw err
        signals.sandboxState('starting', 'retrying', { detail: errorMessage(err) })
        await sleep(next.delayMs)
      }
    }
  }
}

function createFailure(err: unknown): CreateFailure {
  if (!(err instanceof SandboxError) || !err.transient) return 'permanent'
  return err.code === 'rate_limited' ? 'rate_limited' : 'transient'
}
