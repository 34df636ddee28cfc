import type { Repo } from '../contracts'
import { SandboxError, shellQuote, type SandboxEndpoint, type SandboxFile, type SandboxProvider } from './provider'
import { CLONE_TIMEOUT_MS, SETUP_TIMEOUT_MS } from './timeouts'

export type ProvisionPlan = {
  envs: Record<string, string>
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

export type ProvisionStep = 'creating' | 'cloning' | 'writing_files' | 'setup' | 'starting_agent'

/** The workspace as it was before the agent: the base its changes are measured from. */
const BASELINE_COMMIT =
  'git init --quiet && git add --all && git -c user.name=sandbox -c user.email=sandbox@localhost commit --quiet --allow-empty -m "workspace before the agent"'

export class ProvisionError extends Error {
  constructor(
    readonly code: 'clone_failed' | 'setup_failed' | 'sandbox_failed',
    message: string,
  ) {
    super(message)
  }
}

/**
 * The clone, and with `credentials` (a file in git-credential-store's format) the clone through
 * that file alone: the command line names only the file, `credential.helper=` first drops any
 * helper the machine's git config has (which could keep the token), `-c` before the subcommand
 * leaves the clone's own .git/config without it, and the file is removed whatever git did.
 */
export function cloneCommand(repo: Repo, workdir: string, credentials?: string): string {
  const into = shellQuote(workdir)
  const auth = credentials ? `-c credential.helper= -c ${shellQuote(`credential.helper=store --file=${shellQuote(credentials)}`)} ` : ''
  const clone = `git ${auth}clone --quiet ${repo.ref ? '--no-checkout ' : ''}-- ${shellQuote(repo.url)} ${into}`
  const command = repo.ref ? `${clone} && git -C ${into} checkout --quiet ${shellQuote(repo.ref)} --` : clone
  return credentials ? `{ ${command}; }; status=$?; rm -f ${shellQuote(credentials)}; exit $status` : command
}

/** git-credential-store's line giving `token` for the repository's host, and no other. */
export function credentialLine(url: string, token: string): string {
  const { protocol, host } = new URL(url)
  return `${protocol}//x-access-token:${encodeURIComponent(token)}@${host}\n`
}

/** Where a clone's credentials wait for git: the sandbox user's home, outside the workspace the agent is shown. */
const credentialsPath = (home: string) => `${home.replace(/\/$/, '')}/.clone-credentials`

const under = (dir: string, files: SandboxFile[] = []): SandboxFile[] =>
  files.map((f) => ({ path: `${dir.replace(/\/$/, '')}/${f.path}`, content: f.content }))

/**
 * Makes a sandbox ready for opencode: create it, clone the repository into its workspace, run
 * the setup command, start `opencode serve`. Readiness is the caller's to check, with the
 * password only it holds. A sandbox that fails half-way is destroyed, never left behind.
 */
export async function provisionSandbox(
  provider: SandboxProvider,
  plan: ProvisionPlan,
  onStep: (step: ProvisionStep) => void,
  /** told the new sandbox's id at once, so that a watchdog can kill it while later steps hang */
  onCreated: (sandboxId: string) => void = () => {},
): Promise<Provisioned> {
  onStep('creating')
  const { sandboxId, workdir, home } = await provider.create({ envs: plan.envs, metadata: plan.metadata })
  onCreated(sandboxId)
  try {
    if (plan.repo) {
      onStep('cloning')
      const credentials = plan.repoToken ? credentialsPath(home) : undefined
      // Through the provider's file API: a command line (which E2B records) never holds the token.
      if (credentials) await provider.writeFiles(sandboxId, [{ path: credentials, content: credentialLine(plan.repo.url, plan.repoToken!) }])
      const r = await provider.exec(sandboxId, cloneCommand(plan.repo, workdir, credentials), { timeoutMs: CLONE_TIMEOUT_MS })
      if (r.exitCode !== 0) {
        throw new ProvisionError('clone_failed', `cloning ${plan.repo.url} failed (git exited with ${r.exitCode})`)
      }
    }
    const files = [...under(workdir, plan.workspaceFiles), ...under(home, plan.homeFiles)]
    if (files.length > 0) {
      onStep('writing_files')
      await provider.writeFiles(sandboxId, files)
    }
    if (plan.setup) {
      onStep('setup')
      const r = await provider.exec(sandboxId, plan.setup, { cwd: workdir, timeoutMs: SETUP_TIMEOUT_MS })
      if (r.exitCode !== 0) throw new ProvisionError('setup_failed', `the setup command exited with ${r.exitCode}`)
    }
    if (!plan.repo) {
      // opencode tracks what the agent changes with git snapshots, so every workspace is a repository.
      const r = await provider.exec(sandboxId, BASELINE_COMMIT, { cwd: workdir, timeoutMs: CLONE_TIMEOUT_MS })
      if (r.exitCode !== 0) throw new ProvisionError('sandbox_failed', `could not prepare the workspace (git exited with ${r.exitCode})`)
    }
    onStep('starting_agent')
    const endpoint = await provider.startOpencode(sandboxId, { cwd: workdir })
    return { sandboxId, workdir, home, endpoint }
  } catch (err) {
    await provider.kill(sandboxId).catch(() => {})
    if (err instanceof SandboxError || err instanceof ProvisionError) throw err
    throw new ProvisionError('sandbox_failed', err instanceof Error ? err.message : String(err))
  }
}
