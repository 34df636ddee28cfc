import type { Repo, Runtime } from '../contracts'
import { gitAuth, markBase, thenForget } from './git'
import { commitOf, refreshCommand, sessionThingsLate, setupWithoutEnv } from './snapshots'
import { SandboxError, shellQuote, type SandboxEndpoint, type SandboxFile, type SandboxProvider } from './provider'
import { CLONE_TIMEOUT_MS, SETUP_TIMEOUT_MS } from './timeouts'

export type ProvisionPlan = {
  envs: Record<string, string>
  /** the agent to start: opencode (default) or an ACP runtime's, through the bridge */
  runtime?: Runtime
  metadata: Record<string, string>
  repo?: Repo
  /** a private repository's token: in the sandbox for the clone only, never in its environment */
  repoToken?: string
  setup?: string
  /** written into the workspace after the clone, before setup (paths relative to it) */
  workspaceFiles?: SandboxFile[]
  /** written into the sandbox user's home (paths relative to it), e.g. skills */
  homeFiles?: SandboxFile[]
}

export type Provisioned = { sandboxId: string; workdir: string; home: string; endpoint: SandboxEndpoint }

export type ProvisionStep = 'creating' | 'cloning' | 'updating' | 'writing_files' | 'setup' | 'saving_snapshot' | 'starting_agent'

/**
 * With a snapshot: `from` is the one to start from (its workspace already cloned, its files
 * written and set up at `commit`), and `save` is called with the prepared workspace and its
 * commit before opencode starts, to take a new one. The setup then runs without the sandbox's
 * environment, as what it writes may be kept.
 */
export type SnapshotOptions = {
  from?: { snapshotId: string; commit: string }
  save(sandboxId: string, commit: string): Promise<void>
}

/** The workspace as it was before the agent: the base its changes are measured from, marked as a clone's is, so that commits of the agent's own count as changes. */
const BASELINE_COMMIT = `git init --quiet && git add --all && git -c user.name=sandbox -c user.email=sandbox@localhost commit --quiet --allow-empty -m "workspace before the agent" && ${markBase()}`

export class ProvisionError extends Error {
  constructor(
    readonly code: 'clone_failed' | 'setup_failed' | 'sandbox_failed',
    message: string,
  ) {
    super(message)
  }
}

/**
 * The clone, and with `credentials` the clone through that file alone (see gitAuth): the command
 * line names only the file, and the file is gone whatever git did (thenForget).
 */
export function cloneCommand(repo: Repo, workdir: string, credentials?: string): string {
  const into = shellQuote(workdir)
  const clone = `git ${gitAuth(credentials)}clone --quiet ${repo.ref ? '--no-checkout ' : ''}-- ${shellQuote(repo.url)} ${into}`
  const checkout = repo.ref ? ` && git -C ${into} checkout --quiet ${shellQuote(repo.ref)} --` : ''
  const command = `${clone}${checkout} && ${markBase(workdir)}`
  return thenForget(command, credentials)
}

/** git-credential-store's line giving `token` for the repository's host, and no other. */
export function credentialLine(url: string, token: string): string {
  const { protocol, host } = new URL(url)
  return `${protocol}//x-access-token:${encodeURIComponent(token)}@${host}\n`
}

/** Where a clone's credentials wait for git: the sandbox user's home, outside the workspace the agent is shown. */
const credentialsPath = (home: string) => `${home.replace(/\/$/, '')}/.clone-credentials`

/**
 * Writes a private repository's token where git alone will read it, through the provider's file
 * API: a command line (which E2B records) never holds it. The command that uses it removes it.
 */
export async function writeCloneCredentials(provider: SandboxProvider, sandboxId: string, home: string, url: string, token: string): Promise<string> {
  const path = credentialsPath(home)
  await provider.writeFiles(sandboxId, [{ path, content: credentialLine(url, token) }])
  return path
}

/**
 * Brings a workspace prepared earlier (a snapshot's, a pooled sandbox's) to the repository's ref:
 * a fetch, and a checkout only if the ref has moved (refreshCommand); the commit it ends on.
 */
export async function updateWorkspace(provider: SandboxProvider, sandboxId: string, workdir: string, repo: Repo, credentials?: string): Promise<string> {
  const r = await provider.exec(sandboxId, refreshCommand(repo.ref, credentials), { cwd: workdir, timeoutMs: CLONE_TIMEOUT_MS })
  const commit = commitOf(r.stdout)
  if (r.exitCode !== 0 || !commit) throw new ProvisionError('clone_failed', `updating the workspace of ${repo.url} failed (exit ${r.exitCode})`)
  return commit
}

const under = (dir: string, files: SandboxFile[] = []): SandboxFile[] =>
  files.map((f) => ({ path: `${dir.replace(/\/$/, '')}/${f.path}`, content: f.content }))

/**
 * Makes a sandbox ready for opencode: create it, clone the repository into its workspace, run
 * the setup command, start `opencode serve`. When a snapshot of the whole disk may be taken, the
 * session's environment and home files come only after it (sessionThingsLate). Readiness is the
 * caller's to check, with the password only it holds. A sandbox that fails half-way is destroyed,
 * never left behind.
 */
export async function provisionSandbox(
  provider: SandboxProvider,
  plan: ProvisionPlan,
  onStep: (step: ProvisionStep) => void,
  /** told the new sandbox's id at once (maybe twice), to record it and so that a watchdog can kill it while later steps hang */
  onCreated: (sandboxId: string) => void = () => {},
  snapshot?: SnapshotOptions,
): Promise<Provisioned> {
  const from = snapshot?.from
  const snapshots = provider.snapshots
  const late = sessionThingsLate(snapshots?.holds, snapshot !== undefined)
  onStep('creating')
  const { sandboxId, workdir, home } = await provider.create({ envs: late ? {} : plan.envs, metadata: plan.metadata, snapshotId: from?.snapshotId, created: onCreated })
  // A provider that does not tell at once (local) tells here.
  onCreated(sandboxId)
  try {
    const credentials = plan.repo && plan.repoToken ? await writeCloneCredentials(provider, sandboxId, home, plan.repo.url, plan.repoToken) : undefined
    let commit: string | undefined
    if (plan.repo && from) {
      onStep('updating')
      commit = await updateWorkspace(provider, sandboxId, workdir, plan.repo, credentials)
    } else if (plan.repo) {
      onStep('cloning')
      const r = await provider.exec(sandboxId, cloneCommand(plan.repo, workdir, credentials), { timeoutMs: CLONE_TIMEOUT_MS })
      if (r.exitCode !== 0) {
        throw new ProvisionError('clone_failed', `cloning ${plan.repo.url} failed (git exited with ${r.exitCode})`)
      }
    }
    // A snapshot holds the workspace's files already; the home's are the session's own.
    const files = [...(from ? [] : under(workdir, plan.workspaceFiles)), ...(late ? [] : under(home, plan.homeFiles))]
    if (files.length > 0) {
      onStep('writing_files')
      await provider.writeFiles(sandboxId, files)
    }
    // From a snapshot at the very commit, the setup's work is there already.
    const fresh = !from || commit !== from.commit
    if (plan.setup && fresh) {
      onStep('setup')
      const command = snapshot ? setupWithoutEnv(plan.setup, Object.keys(plan.envs)) : plan.setup
      const r = await provider.exec(sandboxId, command, { cwd: workdir, timeoutMs: SETUP_TIMEOUT_MS })
      if (r.exitCode !== 0) throw new ProvisionError('setup_failed', `the setup command exited with ${r.exitCode}`)
    }
    if (snapshot && plan.repo && fresh) {
      commit ??= commitOf((await provider.exec(sandboxId, 'git rev-parse HEAD', { cwd: workdir })).stdout)
      onStep('saving_snapshot')
      if (commit) await snapshot.save(sandboxId, commit)
    }
    if (late && snapshots?.holds === 'disk') {
      await snapshots.giveEnv(sandboxId, plan.envs)
      const own = under(home, plan.homeFiles)
      if (own.length > 0) {
        onStep('writing_files')
        await provider.writeFiles(sandboxId, own)
      }
    }
    if (!plan.repo) {
      // opencode tracks what the agent changes with git snapshots, so every workspace is a repository.
      const r = await provider.exec(sandboxId, BASELINE_COMMIT, { cwd: workdir, timeoutMs: CLONE_TIMEOUT_MS })
      if (r.exitCode !== 0) throw new ProvisionError('sandbox_failed', `could not prepare the workspace (git exited with ${r.exitCode})`)
    }
    onStep('starting_agent')
    const endpoint = await provider.startOpencode(sandboxId, { cwd: workdir, runtime: plan.runtime })
    return { sandboxId, workdir, home, endpoint }
  } catch (err) {
    await provider.kill(sandboxId).catch(() => {})
    if (err instanceof SandboxError || err instanceof ProvisionError) throw err
    throw new ProvisionError('sandbox_failed', err instanceof Error ? err.message : String(err))
  }
}
