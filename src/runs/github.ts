import type { Bindings } from '../env'
import type { GitHubTarget, RunView } from './contracts'

export const DEFAULT_TRIGGER = '/opencode'

type Issue = { number: number; title: string; body?: string | null; pull_request?: unknown }
type Delivery = {
  action?: string
  issue?: Issue
  comment?: { body?: string | null }
  repository?: { name: string; owner: { login: string }; clone_url: string; default_branch?: string }
}

export type GitHubTask = { target: GitHubTarget; repoUrl: string; prompt: string }

/**
 * What a GitHub delivery asks of us: an issue opened, or commented on, with the trigger phrase
 * becomes a task on that repository. Anything else asks nothing.
 */
export function taskFromDelivery(event: string | undefined, payload: Delivery, trigger: string): GitHubTask | undefined {
  const { issue, repository } = payload
  if (!issue || !repository) return undefined
  const issueText = `${issue.title}\n\n${issue.body ?? ''}`.trim()
  let prompt: string | undefined
  if (event === 'issues' && payload.action === 'opened' && issueText.includes(trigger)) prompt = issueText
  if (event === 'issue_comment' && payload.action === 'created' && payload.comment?.body?.includes(trigger)) {
    prompt = `${issueText}\n\nRequest in a comment:\n${payload.comment.body}`
  }
  if (!prompt) return undefined
  return {
    target: { owner: repository.owner.login, repo: repository.name, issue: issue.number },
    repoUrl: repository.clone_url,
    prompt: `Work on this GitHub issue of ${repository.owner.login}/${repository.name} (#${issue.number}):\n\n${prompt}`,
  }
}

/** The run's outcome as a comment on its issue. */
export function commentBody(run: RunView): string {
  const head = `opencode run \`${run.id}\`: **${run.status}**`
  const text = run.result?.text ? `\n\n${run.result.text}` : ''
  const error = run.error ? `\n\n> ${run.error.code}: ${run.error.message}` : ''
  const diff = run.result?.diff ? `\n\n<details><summary>Changes</summary>\n\n\`\`\`diff\n${run.result.diff}\n\`\`\`\n</details>` : ''
  return head + text + error + diff
}

export async function githubComment(env: Bindings, target: GitHubTarget, run: RunView): Promise<Response> {
  const base = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/$/, '')
  const res = await fetch(`${base}/repos/${target.owner}/${target.repo}/issues/${target.issue}/comments`, {
    method: 'POST',
    headers: {
      accept: 'application/vnd.github+json',
      'content-type': 'application/json',
      'user-agent': 'opencode-sandbox-worker',
      ...(env.GITHUB_TOKEN && { authorization: `Bearer ${env.GITHUB_TOKEN}` }),
    },
    body: JSON.stringify({ body: commentBody(run) }),
    signal: AbortSignal.timeout(10_000),
  })
  await res.body?.cancel()
  return res
}
