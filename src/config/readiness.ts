import { AuthenticationError, Sandbox, type ConnectionOpts, type SandboxListOpts } from 'e2b'
import { bundledSetting, sizeProblems } from './bundled-settings'
import type { Bindings } from '../env'
import { parseTenantRepos } from '../github/tenant-repos'
import { missingSettings } from './missing-settings'
import { ConfigError, parseDeploymentConfig } from '../opencode/config'
import { sandboxConfigPart } from '../opencode/sandbox-config'
import { parseE2BLimits } from '../sandbox/e2b-limits'
import { parseWarmPools } from '../sandbox/repo-pools'
import { checkpointMaxBytes, checkpointsOff, costCapProblems, maxSchedules, readSettings, runCreatesPerMinute, transcriptMaxBytes, type Settings } from './settings'
import { parseTimings } from './timings'

/** How long /ready waits for the sandbox provider before it counts as not answering. */
export const PROBE_TIMEOUT_MS = 5_000

/**
 * How long an answer is reused: /ready needs no key, and without this every request to it
 * would be a call to E2B's API on the deployment's key.
 */
export const REUSE_MS = 5_000

export type Readiness = {
  ready: boolean
  provider?: 'local' | 'e2b'
  /** settings the deployment lacks, by name */
  missing: string[]
  /** why it is not ready, for a person; names settings, never values or URLs */
  reasons: string[]
  /** what works without being needed to start sessions, and is off (checkpoints); only when something is */
  notes?: string[]
}

/** A cheap authenticated call: one page of one sandbox. */
async function probeE2B(e2b: Settings['e2b']): Promise<string | undefined> {
  // The list's options type leaves apiUrl out; the SDK honours it all the same.
  const opts: SandboxListOpts & Pick<ConnectionOpts, 'apiUrl'> = {
    apiKey: e2b.apiKey,
    apiUrl: e2b.apiUrl,
    limit: 1,
    requestTimeoutMs: PROBE_TIMEOUT_MS,
    retries: 0,
  }
  try {
    await Sandbox.list(opts).nextItems()
    return undefined
  } catch (err) {
    if (err instanceof AuthenticationError) return 'E2B refused the API key (E2B_API_KEY)'
    return `E2B's API did not answer (${err instanceof Error ? err.name : 'error'})`
  }
}

/** The sandbox host's list: it answers only with the right token. */
async function probeLocal(url: string, token: string | undefined): Promise<string | undefined> {
  let res: Response
  try {
    res = await fetch(`${url.replace(/\/$/, '')}/sandboxes`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    })
  } catch {
    return 'the local sandbox host does not answer (LOCAL_SANDBOX_URL)'
  }
  await res.body?.cancel()
  if (res.ok) return undefined
  if (res.status === 401) return 'the local sandbox host refused LOCAL_SANDBOX_TOKEN'
  return `the local sandbox host answered ${res.status}`
}

/** What is wrong with OPENCODE_CONFIG: not readable, or parts that must not reach sandboxes (see sandboxConfigPart). */
function deploymentConfigProblems(json: string | undefined): string[] {
  try {
    return sandboxConfigPart(parseDeploymentConfig(json)).refused
  } catch (err) {
    if (err instanceof ConfigError) return [err.message]
    throw err
  }
}

/** Whether this deployment can start sessions now: its settings complete, its sandbox provider answering. */
export async function readiness(env: Bindings): Promise<Readiness> {
  const missing = missingSettings(env)
  const reasons = missing.map((name) => `not set: ${name}`)
  const provider = env.SANDBOX_PROVIDER === 'e2b' || env.SANDBOX_PROVIDER === 'local' ? env.SANDBOX_PROVIDER : undefined
  const settings = readSettings(env)
  const problem =
    provider === 'e2b' && settings.e2b.apiKey
      ? await probeE2B(settings.e2b)
      : provider === 'local' && env.LOCAL_SANDBOX_URL
        ? await probeLocal(settings.localSandboxUrl, settings.localSandboxToken)
        : undefined
  if (problem) reasons.push(problem)
  const pools = parseWarmPools(bundledSetting(env, 'WARM_POOLS')).error
  if (pools) reasons.push(pools)
  const timings = parseTimings(env.TIMINGS).error
  if (timings) reasons.push(timings)
  reasons.push(...deploymentConfigProblems(settings.opencodeConfig))
  const tenantRepos = parseTenantRepos(env.GITHUB_TENANT_REPOS).error
  reasons.push(...parseE2BLimits(env).errors)
  if (tenantRepos) reasons.push(tenantRepos)
  const runRate = runCreatesPerMinute(env).error
  if (runRate) reasons.push(runRate)
  const scheduleCap = maxSchedules(env).error
  if (scheduleCap) reasons.push(scheduleCap)
  reasons.push(...costCapProblems(env))
  reasons.push(...sizeProblems(env))
  const checkpointLimit = checkpointMaxBytes(env).error
  if (checkpointLimit) reasons.push(checkpointLimit)
  const transcriptLimit = transcriptMaxBytes(env).error
  if (transcriptLimit) reasons.push(transcriptLimit)
  const off = checkpointsOff(env)
  return { ready: reasons.length === 0, ...(provider && { provider }), missing, reasons, ...(off && { notes: [off] }) }
}

let reused: { at: number; answer: Readiness } | undefined

/** readiness(), asked at most once per REUSE_MS by this isolate. */
export async function recentReadiness(env: Bindings): Promise<Readiness> {
  if (reused && Date.now() - reused.at < REUSE_MS) return reused.answer
  const answer = await readiness(env)
  reused = { at: Date.now(), answer }
  return answer
}
