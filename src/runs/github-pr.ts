import type { CreateRunInput, FileBody, PullRequestResult, Repo } from '../contracts'
import type { Bindings } from '../env'
import { GitHubApi, GitHubError } from '../github/api'
import type { FileChange } from '../github/changes'
import { parseAuthor } from '../github/commit'
import { cloneTarget, githubApi, hasGitHubCredentials } from '../github/credentials'
import { defaultBranch, publishChanges, titleFrom, type PullRequestPlan } from '../github/pull-request'
import { githubRepoOf, type GitHubRepo } from '../github/repo-url'
import { isGranted, parseTenantRepos } from '../github/tenant-repos'
import type { Outcome } from '../lib/errors'
import { errorMessage } from '../lib/log'
import { openJson } from '../lib/sealed'

/**
 * How a run meets GitHub: what it clones (`githubClone`: with the deployment's GitHub credential,
 * which its session mints afresh for every sandbox), and what it does with its changes.
 */
export type GitHubSetup = { repo?: Repo; githubClone?: boolean; plan?: PullRequestPlan }

type Pull = { number: number; html_url: string; head: { ref: string; repo: { full_name: string; clone_url: string } | null } }

const sameRepo = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/**
 * Decided when the run starts. A GitHub trigger on a pull request runs on its branch (looked up
 * through the API) and adds a commit to it, unless the branch is in a fork; on an issue it opens
 * a pull request (unless GITHUB_OUTPUT=comment). A `POST /v1/runs` asks with output.pullRequest.
 * The clone of a private repository gets a token through the session's credential helper: the
 * tenant's own `repo.token`, else the deployment's (the App's installation token, or
 * GITHUB_TOKEN) on a repository granted to the tenant (GITHUB_TENANT_REPOS); a fork's clone gets none.
 * Throws GitHubError when GitHub will not say what it must.
 */
export async function githubSetup(env: Bindings, input: CreateRunInput): Promise<GitHubSetup> {
  const { request, github } = input
  const repo = request.repo
  const asked = request.output?.pullRequest
  if (github) {
    if (github.pullRequest) {
      const api = await githubApi(env, github)
      const pull = await api.request<Pull>('GET', `/repos/${github.owner}/${github.repo}/pulls/${github.issue}`)
      const common = { owner: github.owner, repo: github.repo, branch: pull.head.ref, title: github.title ?? '', draft: false, number: pull.number, url: pull.html_url }
      const headRepo = pull.head.repo
      if (!headRepo) throw new GitHubError(404, `the branch of pull request #${pull.number} is gone`)
      const ownBranch = sameRepo(headRepo.full_name, `${github.owner}/${github.repo}`)
      // A review pushes nothing: its comment is the result.
      if (github.review) return ownBranch ? { repo: { url: repo?.url ?? headRepo.clone_url, ref: pull.head.ref }, ...clonedWithGitHub(env, input, repo?.url ?? headRepo.clone_url) } : { repo: { url: headRepo.clone_url, ref: pull.head.ref } }
      if (!ownBranch) {
        return { repo: { url: headRepo.clone_url, ref: pull.head.ref }, plan: { ...common, mode: 'not_pushed' } }
      }
      const url = repo?.url ?? headRepo.clone_url
      return { repo: { url, ref: pull.head.ref }, ...clonedWithGitHub(env, input, url), plan: { ...common, mode: 'update' } }
    }
    const plan: PullRequestPlan | undefined =
      env.GITHUB_OUTPUT === 'comment'
        ? undefined
        : {
            owner: github.owner,
            repo: github.repo,
            mode: 'open',
            ...(github.defaultBranch && { base: github.defaultBranch }),
            branch: defaultBranch(input.id, github.issue),
            title: github.title ? `${titleFrom(github.title)} (#${github.issue})` : `Changes for #${github.issue}`,
            draft: false,
            issue: github.issue,
          }
    return { ...(repo && clonedWithGitHub(env, input, repo.url)), ...(plan && { plan }) }
  }
  if (!asked || !repo) return {}
  const target = githubRepoOf(repo.url, env.GITHUB_API_URL)
  if (!target) return {}
  return {
    ...clonedWithGitHub(env, input, repo.url),
    plan: {
      ...target,
      mode: 'open',
      ...((asked.base ?? repo.ref) && { base: asked.base ?? repo.ref }),
      branch: asked.branch ?? defaultBranch(input.id),
      title: asked.title ?? titleFrom(request.prompt),
      draft: asked.draft ?? false,
    },
  }
}

/** Whether the deployment's GitHub credential may act on `repo` for `tenant`: granted to it in GITHUB_TENANT_REPOS. */
export const deploymentCredentialFor = (env: Bindings, tenant: string, repo: GitHubRepo) =>
  hasGitHubCredentials(env) && isGranted(parseTenantRepos(env.GITHUB_TENANT_REPOS).grants, tenant, repo)

/** The deployment's credential clones only for a tenant that brings no token of its own and was granted the repository. */
function clonedWithGitHub(env: Bindings, input: Pick<CreateRunInput, 'tenant' | 'repoToken'>, url: string) {
  const target = cloneTarget(env, url)
  return input.repoToken === undefined && target && deploymentCredentialFor(env, input.tenant, target) ? { githubClone: true } : {}
}

export type Workspace = {
  changes(): Promise<Outcome<{ head: string; changes: FileChange[] }>>
  readFile(path: string): Promise<Outcome<FileBody>>
}

/**
 * The run's changes, read from its workspace while its sandbox is still there, on GitHub as `plan`
 * says: with the tenant's own token when it brought one (`sealedRepoToken`), else with the
 * deployment's credential if the repository is (still) granted to the tenant.
 */
export async function publishRun(
  env: Bindings,
  plan: PullRequestPlan,
  workspace: Workspace,
  run: { id: string; tenant: string; summary: string; sealedRepoToken: string | null },
): Promise<PullRequestResult> {
  let repoToken: string | undefined
  try {
    repoToken = run.sealedRepoToken === null ? undefined : await openJson<string>(env.SECRETS_KEY ?? '', run.sealedRepoToken)
  } catch (err) {
    // Never the deployment's credential instead: the tenant brought its own because it has no grant.
    return { state: 'failed', error: { message: `the repository token could not be opened: ${errorMessage(err)}` } }
  }
  const link = env.PUBLIC_URL ? `[\`${run.id}\`](${env.PUBLIC_URL.replace(/\/+$/, '')}/v1/runs/${run.id})` : `\`${run.id}\``
  if (repoToken === undefined && !deploymentCredentialFor(env, run.tenant, plan)) {
    return { state: 'failed', error: { message: `${plan.owner}/${plan.repo} is not granted to this tenant (GITHUB_TENANT_REPOS)` } }
  }
  const listed = await workspace.changes()
  if (!listed.ok) return { state: 'failed', error: { message: `the changes could not be read: ${listed.error.message}` } }
  const api = async () => (repoToken !== undefined ? new GitHubApi(env.GITHUB_API_URL, repoToken) : githubApi(env, plan))
  return publishChanges(api, plan, {
    runId: run.id,
    runLink: link,
    summary: run.summary,
    head: listed.value.head,
    changes: listed.value.changes,
    author: parseAuthor(env.GITHUB_COMMIT_AUTHOR),
    read: async (path) => {
      const file = await workspace.readFile(path)
      if (!file.ok) throw new Error(`${path} could not be read: ${file.error.message}`)
      return file.value
    },
  })
}
