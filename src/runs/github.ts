import { z } from 'zod'
import type { Bindings } from '../env'
import type { GitHubTarget, RunView } from '../contracts'

export const DEFAULT_TRIGGER = '/opencode'
export const DEFAULT_ALLOWED_ASSOCIATIONS = ['OWNER', 'MEMBER', 'COLLABORATOR']
export const DEFAULT_MAX_RUNS_PER_HOUR = 10

/** How every comment we post begins; a comment that begins so is ours and never a request. */
export const COMMENT_PREFIX = 'opencode run `'

const Actor = z.object({ login: z.string().optional(), type: z.string().optional() })
const Text = z.string().nullish()

/** The part of an `issues` or `issue_comment` delivery we read; anything else is not one. */
const Delivery = z.object({
  action: z.string().optional(),
  issue: z
    .object({ id: z.number().optional(), number: z.number().int(), title: z.string(), body: Text, author_association: z.string().optional(), user: Actor.optional() })
    .optional(),
  comment: z.object({ id: z.number().optional(), body: Text, author_association: z.string().optional(), user: Actor.optional() }).optional(),
  sender: Actor.optional(),
  repository: z.object({ name: z.string(), owner: z.object({ login: z.string() }), clone_url: z.string() }).optional(),
})

/** `key` names the one run a request may start, from the signed body: its comment, or its issue. */
export type GitHubTask = { target: GitHubTarget; repoUrl: string; prompt: string; key: string }

export type GitHubRules = { trigger: string; allowedAssociations: string[] }

export function githubRules(env: Pick<Bindings, 'GITHUB_TRIGGER' | 'GITHUB_ALLOWED_ASSOCIATIONS'>): GitHubRules {
  const listed = (env.GITHUB_ALLOWED_ASSOCIATIONS ?? '')
    .split(',')
    .map((a) => a.trim().toUpperCase())
    .filter(Boolean)
  return { trigger: env.GITHUB_TRIGGER || DEFAULT_TRIGGER, allowedAssociations: listed.length ? listed : DEFAULT_ALLOWED_ASSOCIATIONS }
}

export function maxRunsPerHour(env: Pick<Bindings, 'GITHUB_MAX_RUNS_PER_HOUR'>): number {
  const n = Number(env.GITHUB_MAX_RUNS_PER_HOUR)
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_RUNS_PER_HOUR
}

/**
 * What a GitHub delivery asks of us: an issue opened, or commented on, with the trigger phrase
 * by a trusted author becomes a task on that repository. Anything else asks nothing, and says
 * why. Issue and comment text is written by strangers on public repositories: who wrote the
 * request decides, never what it says.
 */
export function taskFromDelivery(
  event: string | undefined,
  body: unknown,
  rules: GitHubRules,
): { task: GitHubTask } | { ignored: string } {
  if (event !== 'issues' && event !== 'issue_comment') return { ignored: `event ${event ?? '(none)'} starts nothing` }
  const parsed = Delivery.safeParse(body)
  if (!parsed.success) return { ignored: `not an ${event} delivery` }
  const payload = parsed.data
  const { issue, repository, comment } = payload
  if (!issue || !repository) return { ignored: 'no issue or repository in the delivery' }
  const wanted = event === 'issues' ? 'opened' : 'created'
  if (payload.action !== wanted) return { ignored: `action ${payload.action ?? '(none)'} starts nothing` }
  const request = event === 'issues' ? issue : comment
  if (!request) return { ignored: 'no comment in the delivery' }
  const text = event === 'issues' ? `${issue.title}\n\n${issue.body ?? ''}` : (comment?.body ?? '')
  if (!text.includes(rules.trigger)) return { ignored: 'no trigger phrase' }
  if (payload.sender?.type === 'Bot' || request.user?.type === 'Bot') return { ignored: 'sent by a bot' }
  if (text.startsWith(COMMENT_PREFIX)) return { ignored: 'our own comment' }
  const association = request.author_association ?? 'NONE'
  if (!rules.allowedAssociations.includes(association)) return { ignored: `author association ${association} is not trusted` }
  const id = event === 'issues' ? issue.id : comment?.id
  if (typeof id !== 'number') return { ignored: 'no id for the request' }

  const issueText = `${issue.title}\n\n${issue.body ?? ''}`.trim()
  const prompt = event === 'issues' ? issueText : `${issueText}\n\nRequest in a comment:\n${text}`
  const slug = `${repository.owner.login}/${repository.name}`
  return {
    task: {
      target: { owner: repository.owner.login, repo: repository.name, issue: issue.number },
      repoUrl: repository.clone_url,
      prompt: `Work on this GitHub issue of ${slug} (#${issue.number}):\n\n${prompt}`,
      key: `${slug}:${event === 'issues' ? 'issue' : 'comment'}:${id}`,
    },
  }
}

/** The run's outcome as a comment on its issue. */
export function commentBody(run: RunView): string {
  const head = `${COMMENT_PREFIX}${run.id}\`: **${run.status}**`
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
