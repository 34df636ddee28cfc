import type { SessionSpec } from '../../contracts'
import { poolStub } from '../../durable-objects'
import type { Bindings } from '../../env'
import { clonesWithGitHubCredential } from '../../github/credentials'
import { errorMessage, log } from '../../lib/log'
import { canUseRepoWarmSandbox, settingsFingerprint } from '../../sandbox/plan'
import { ProvisionError, updateWorkspace, writeCloneCredentials } from '../../sandbox/provision'
import type { SandboxRecord } from '../../sandbox/record'
import { readable, repoReadCheck } from '../../sandbox/repo-access'
import { poolKey, repoPoolFor } from '../../sandbox/repo-pools'
import { SETUP_TIMEOUT_MS } from '../../sandbox/timeouts'
import type { SessionSecrets } from '../store/secrets'
import type { SourceParts } from '../source-parts'

/**
 * A session's start from a repository warm pool (WARM_POOLS): when its repository, ref and setup
 * are a pool's, it needs nothing else of its own in the sandbox and the git host says it may read
 * the repository (mayRead), it takes a ready one. What is left to do is the session's: its own
 * fetch (with its own token for a private repository, so a session that cannot read the
 * repository never gets the pool's copy), a checkout and the setup again only if the ref moved
 * since the sandbox was made. The sandbox's password and gateway
 * token were made for it at pool time and are this session's from now on. Anything failing here
 * kills the sandbox and the session starts as without a pool (null).
 */
export async function takeFromRepoPool(
  p: SourceParts,
  spec: SessionSpec,
  secrets: SessionSecrets,
  made: (sandboxId: string) => void,
): Promise<SandboxRecord | null> {
  const { settings, env, store, signals, provider } = p
  const entry = repoPoolFor(settings.warmPools, spec)
  if (!entry || !spec.repo || !canUseRepoWarmSandbox(spec, secrets.env, settings.defaultModel, secrets.modelKeys)) return null
  if (!(await mayRead(env, entry.repo, secrets.repoToken))) return null
  const warm = await poolStub(env)
    .takeRepo(poolKey(entry), settingsFingerprint(settings), store.row.id)
    .catch((err: unknown) => {
      log('warn', 'repository warm pool unavailable', { err: errorMessage(err) })
      return null
    })
  if (!warm) return null
  made(warm.sandboxId)
  store.update({ gateway_digest: warm.gatewayDigest })
  signals.sandboxState('starting', 'warm', { ageSeconds: Math.max(0, Math.round((Date.now() - warm.createdAt) / 1000)) })
  try {
    signals.sandboxState('starting', 'updating')
    const credentials = secrets.repoToken ? await writeCloneCredentials(provider, warm.sandboxId, warm.home, spec.repo.url, secrets.repoToken) : undefined
    const commit = await updateWorkspace(provider, warm.sandboxId, warm.workdir, spec.repo, credentials)
    if (commit !== warm.commit && spec.setup) {
      signals.sandboxState('starting', 'setup')
      const r = await provider.exec(warm.sandboxId, spec.setup, { cwd: warm.workdir, timeoutMs: SETUP_TIMEOUT_MS })
      if (r.exitCode !== 0) throw new ProvisionError('setup_failed', `the setup command exited with ${r.exitCode}`)
    }
    return { sandboxId: warm.sandboxId, workdir: warm.workdir, home: warm.home, endpoint: warm.endpoint, password: warm.password, agentSessionId: warm.agentSessionId }
  } catch (err) {
    await provider.kill(warm.sandboxId).catch(() => {})
    signals.sandboxState('starting', 'warm_failed', { detail: errorMessage(err) })
    return null
  }
}

/** A host that does not answer within this says no: the session starts without the pool rather than wait. */
const READ_CHECK_TIMEOUT_MS = 10_000

/**
 * Whether the session may read the pool's repository, as the git host answers its own credential
 * (see repoReadCheck). Asked before the take, so that a session that may not never costs the pool
 * a sandbox: without it, anyone could drain a private repository's pool with sessions bound to fail.
 */
async function mayRead(env: Bindings, repoUrl: string, token: string | undefined): Promise<boolean> {
  const check = repoReadCheck(repoUrl, { pooledWithCredential: clonesWithGitHubCredential(env, repoUrl), token })
  if (!check) return true
  try {
    const res = await fetch(check.url, { headers: check.headers, redirect: 'manual', signal: AbortSignal.timeout(READ_CHECK_TIMEOUT_MS) })
    await res.body?.cancel()
    return readable(res.status, res.headers.get('content-type'))
  } catch (err) {
    log('warn', 'repository read check failed', { err: errorMessage(err) })
    return false
  }
}
