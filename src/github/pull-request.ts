import type { PullRequestResult } from '../contracts'
import { GitHubError, type GitHubApi } from './api'
import type { FileChange } from './changes'
import { writeCommit, type CommitAuthor, type FileContent } from './commit'
import type { GitHubRepo } from './repo-url'

/**
 * What a run does with its changes on GitHub, decided when it starts: `open` a branch and a pull
 * request, `update` a pull request's branch with one more commit, or, for a pull request whose
 * branch is in a fork, `not_pushed` (the changes go back as a diff).
 */
export type PullRequestPlan = GitHubRepo & {
  mode: 'open' | 'update' | 'not_pushed'
  /** `open`: the branch to merge into; unset, the repository's default branch */
  base?: string
  /** `open`: the branch to create; `update`: the pull request's branch */
  branch: string
  title: string
  draft: boolean
  /** the issue it came from: the pull request closes it */
  issue?: number
  /** `update` and `not_pushed`: the pull request */
  number?: number
  url?: string
}

/** The branch a run's pull request comes from, unless it names one. */
export const defaultBranch = (runId: string, issue?: number) => (issue === undefined ? `opencode/run-${runId}` : `opencode/issue-${issue}-${runId}`)

/** A title from a prompt: its first line that says something, cut to GitHub's customary length. */
export function titleFrom(text: string): string {
  const line = text.split('\n').map((l) => l.trim()).find(Boolean) ?? 'Changes by opencode'
  return line.length > 72 ? `${line.slice(0, 71)}…` : line
}

/** GitHub takes bodies up to 65536 characters; the summary keeps well within. */
const MAX_SUMMARY = 50_000

/** The pull request's description: the agent's summary, where the run is, and the issue it closes. */
export function pullRequestBody(summary: string, runLink: string, issue?: number): string {
  const text = summary.length > MAX_SUMMARY ? `${summary.slice(0, MAX_SUMMARY)}…` : summary
  return [text.trim(), `---\nMade by opencode run ${runLink}.`, issue === undefined ? '' : `Closes #${issue}`].filter(Boolean).join('\n\n')
}

type Pull = { number: number; html_url: string }

/** `made`, or when GitHub answers that it exists already (422) and `mayTakeOver`, `takeOver()`. */
async function alreadyThere<T>(made: Promise<T>, mayTakeOver: boolean, takeOver: () => Promise<T>): Promise<T> {
  try {
    return await made
  } catch (err) {
    if (mayTakeOver && err instanceof GitHubError && err.status === 422 && /already exists/i.test(err.message)) return takeOver()
    throw err
  }
}

export type PublishInput = {
  runId: string
  runLink: string
  summary: string
  head: string
  changes: FileChange[]
  read: (path: string) => Promise<FileContent>
  author: CommitAuthor
}

/**
 * The run's changes on GitHub as its plan says (`apiFor` is called only when there is something
 * to push); whatever GitHub refuses (a branch that exists,
 * no permission, a moved branch) is the result's `error`, never a throw.
 */
export async function publishChanges(apiFor: () => Promise<GitHubApi>, plan: PullRequestPlan, input: PublishInput): Promise<PullRequestResult> {
  const known = { ...(plan.number !== undefined && { number: plan.number }), ...(plan.url && { url: plan.url }) }
  if (input.changes.length === 0) return { state: 'unchanged', ...known }
  if (plan.mode === 'not_pushed') return { state: 'not_pushed', ...known }
  const repoPath = `/repos/${plan.owner}/${plan.repo}`
  let commit: string | undefined
  try {
    const api = await apiFor()
    commit = await writeCommit(api, plan, {
      parent: input.head,
      changes: input.changes,
      read: input.read,
      message: `${plan.title}\n\nopencode run ${input.runId}`,
      author: input.author,
    })
    if (plan.mode === 'update') {
      // Not forced: a branch that moved since the run cloned it is refused, never overwritten.
      await api.request('PATCH', `${repoPath}/git/refs/heads/${plan.branch}`, { sha: commit, force: false })
      return { state: 'updated', ...known, branch: plan.branch, commit }
    }
    const base = plan.base ?? (await api.request<{ default_branch: string }>('GET', repoPath)).default_branch
    // A branch named after this run can only be this run's: a second attempt (the run's object
    // restarted while it pushed) takes over what the first left, rather than failing on it.
    const again = plan.branch.includes(input.runId)
    await alreadyThere(
      api.request('POST', `${repoPath}/git/refs`, { ref: `refs/heads/${plan.branch}`, sha: commit }),
      again,
      () => api.request('PATCH', `${repoPath}/git/refs/heads/${plan.branch}`, { sha: commit, force: true }),
    )
    const pull = await alreadyThere(
      api.request<Pull>('POST', `${repoPath}/pulls`, {
        title: plan.title,
        head: plan.branch,
        base,
        body: pullRequestBody(input.summary, input.runLink, plan.issue),
        draft: plan.draft,
      }),
      again,
      async () => {
        const open = await api.request<Pull[]>('GET', `${repoPath}/pulls?head=${encodeURIComponent(`${plan.owner}:${plan.branch}`)}&state=open`)
        if (!open[0]) throw new GitHubError(422, `no open pull request for ${plan.branch}`)
        return open[0]
      },
    )
    return { state: 'opened', number: pull.number, url: pull.html_url, branch: plan.branch, commit }
  } catch (err) {
    const error = err instanceof GitHubError ? { ...(err.status !== undefined && { status: err.status }), message: err.message } : { message: String(err instanceof Error ? err.message : err) }
    return { state: 'failed', ...known, branch: plan.branch, ...(commit && { commit }), error }
  }
}
