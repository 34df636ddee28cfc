import type { CreateRunInput, FileBody, PullRequestResult, Repo } from '../contracts'
import type { Bindings } from '../env'
import { GitHubError } from '../github/api'
import type { FileChange } from '../github/changes'
import { parseAuthor } from '../github/commit'
import { clonesWithGitHubCredential, githubApi } from '../github/credentials'
import { defaultBranch, publishChanges, titleFrom, type PullRequestPlan } from '../github/pull-request'
import { githubRepoOf } from '../github/repo-url'
import type { Outcome } from '../lib/errors'

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
 * The clone of a private repository gets a token (the App's installation token, or
 * GITHUB_TOKEN) through the session's credential helper; a fork's clone gets none.
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
      if (!sameRepo(headRepo.full_name, `${github.owner}/${github.repo}`)) {
        return { repo: { url: headRepo.clone_url, ref: pull.head.ref }, plan: { ...common, mode: 'not_pushed' } }
      }
      const url = repo?.url ?? headRepo.clone_url
      return { repo: { url, ref: pull.head.ref }, ...clonedWithGitHub(env, url), plan: { ...common, mode: 'update' } }
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
    return { ...(repo && clonedWithGitHub(env, repo.url)), ...(plan && { plan }) }
  }
  if (!asked || !repo) return {}
  const target = githubRepoOf(repo.url, env.GITHUB_API_URL)
  if (!target) return {}
  return {
    ...clonedWithGitHub(env, repo.url),
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

const clonedWithGitHub = (env: Bindings, url: string) => (clonesWithGitHubCredential(env, url) ? { githubClone: true } : {})

export type Workspace = {
  changes(): Promise<Outcome<{ head: string; changes: FileChange[] }>>
  readFile(path: string): Promise<Outcome<FileBody>>
}

/** The run's changes, read from its workspace while its sandbox is still there, on GitHub as `plan` says. */
export async function publishRun(
  env: Bindings,
  plan: PullRequestPlan,
  workspace: Workspace,
  run: { id: string; summary: string; link: string },
): Promise<PullRequestResult> {
  const listed = await workspace.changes()
  if (!listed.ok) return { state: 'failed', error: { message: `the changes could not be read: ${listed.error.message}` } }
  return publishChanges(() => githubApi(env, plan), plan, {
    runId: run.id,
    runLink: run.link,
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
