import { z } from 'zod'
import type { Bindings } from '../env'
import type { GitHubTarget, PullRequestResult, RunView } from '../contracts'
import { GitHubError } from '../github/api'
import { githubApi } from '../github/credentials'

export const DEFAULT_TRIGGER = '/opencode'
export const DEFAULT_ALLOWED_ASSOCIATIONS = ['OWNER', 'MEMBER', 'COLLABORATOR']
export const DEFAULT_MAX_RUNS_PER_HOUR = 10

/** How every comment we post begins; a comment that begins so is ours and never a request. */
export const COMMENT_PREFIX = 'opencode run `'

export const Actor = z.object({ login: z.string().optional(), type: z.string().optional() })
export const Text = z.string().nullish()
export const Repository = z.object({ name: z.string(), owner: z.object({ login: z.string() }), clone_url: z.string(), default_branch: z.string().optional() })

/** The part of an `issues` or `issue_comment` delivery we read; anything else is not one. */
const Delivery = z.object({
  action: z.string().optional(),
  issue: z
    .object({
      id: z.number().optional(),
      number: z.number().int(),
      title: z.string(),
      body: Text,
      author_association: z.string().optional(),
      user: Actor.optional(),
      pull_request: z.object({}).passthrough().nullish(),
    })
    .optional(),
  comment: z.object({ id: z.number().optional(), body: Text, author_association: z.string().optional(), user: Actor.optional() }).optional(),
  sender: Actor.optional(),
  repository: Repository.optional(),
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
  const distrust = untrusted(rules, { text, association: request.author_association, author: request.user, sender: payload.sender })
  if (distrust) return { ignored: distrust }
  const id = event === 'issues' ? issue.id : comment?.id
  if (typeof id !== 'number') return { ignored: 'no id for the request' }

  const issueText = `${issue.title}\n\n${issue.body ?? ''}`.trim()
  const prompt = event === 'issues' ? issueText : `${issueText}\n\nRequest in a comment:\n${text}`
  const slug = `${repository.owner.login}/${repository.name}`
  return {
    task: {
      target: {
        owner: repository.owner.login,
        repo: repository.name,
        issue: issue.number,
        title: issue.title,
        ...(issue.pull_request && { pullRequest: true }),
        ...(repository.default_branch && { defaultBranch: repository.default_branch }),
      },
      repoUrl: repository.clone_url,
      prompt: `Work on this GitHub issue of ${slug} (#${issue.number}):\n\n${prompt}`,
      key: `${slug}:${event === 'issues' ? 'issue' : 'comment'}:${id}`,
    },
  }
}

/**
 * Why a request on GitHub is not to be followed, or undefined when it is: who wrote it decides,
 * never what it says. A bot (the sender or the author) is never followed, nor one of our own
 * comments; the author's association with the repository must be one the deployment trusts.
 */
export function untrusted(
  rules: GitHubRules,
  request: { text: string; association: string | undefined; author: z.infer<typeof Actor> | undefined; sender: z.infer<typeof Actor> | undefined },
): string | undefined {
  if (request.sender?.type === 'Bot' || request.author?.type === 'Bot') return 'sent by a bot'
  if (request.text.startsWith(COMMENT_PREFIX)) return 'our own comment'
  const association = request.association ?? 'NONE'
  if (!rules.allowedAssociations.includes(association)) return `author association ${association} is not trusted`
  return undefined
}

/** Whether GitHub trusts this comment to a trusted author: only those in GITHUB_ALLOWED_ASSOCIATIONS. */
export const trustedAssociation = (rules: GitHubRules, association: string | undefined) => rules.allowedAssociations.includes(association ?? 'NONE')

/**
 * GitHub refuses a comment body over 65536 characters. We count UTF-8 bytes, never fewer than
 * characters however they are counted, and keep a margin.
 */
export const MAX_COMMENT_BYTES = 60_000

const utf8 = new TextEncoder()
const byteLength = (s: string) => utf8.encode(s).length

/** The longest start of `s` within `max` UTF-8 bytes, never splitting a character. */
export function cutToBytes(s: string, max: number): string {
  const encoded = utf8.encode(s)
  if (encoded.length <= max) return s
  let end = Math.max(0, max)
  // A continuation byte at the cut belongs to a character that began before it: cut before that one.
  while (end > 0 && (encoded[end]! & 0xc0) === 0x80) end--
  return new TextDecoder().decode(encoded.subarray(0, end))
}

/** What a run ends in as a GitHub comment is a PR link, or why there is none. */
export function pullRequestPart(pr: PullRequestResult | undefined): string {
  if (!pr) return ''
  const where = pr.url ? `[#${pr.number}](${pr.url})` : pr.number !== undefined ? `#${pr.number}` : ''
  switch (pr.state) {
    case 'opened':
      return `\n\nOpened pull request ${where} from \`${pr.branch}\`.`
    case 'updated':
      return `\n\nPushed ${pr.commit?.slice(0, 7)} to \`${pr.branch}\` of ${where}.`
    case 'unchanged':
      return '\n\nNo changes, so nothing was pushed.'
    case 'not_pushed':
      return "\n\nThis pull request's branch is in a fork I cannot push to: the changes are below, to apply yourself."
    case 'failed':
      return `\n\nThe changes could not be pushed${pr.branch ? ` to \`${pr.branch}\`` : ''}: ${pr.error?.message ?? 'GitHub refused them'}. They are below.`
  }
}

/**
 * The agent asks leave: the comment says what, and how a trusted author answers. The patterns are
 * the agent's (its command, a path), so they are shown as code and cut short.
 */
export function askComment(runId: string, permission: string, patterns: string[]): string {
  const what = patterns.map((p) => `\`${cutToBytes(p.replace(/`/g, "'"), 300)}\``).join(', ')
  return `${COMMENT_PREFIX}${runId}\`: **asks** to use \`${permission}\`${what ? ` on ${what}` : ''}.\n\nA maintainer answers with \`/approve ${runId}\` or \`/deny ${runId}\`; unanswered, it is denied in time.`
}

const APPROVAL = /^\/(approve|deny)\s+(run_[0-9a-z]{20})\b/

/** An `/approve <run>` or `/deny <run>` comment by a trusted author answers that run's request, on this issue. */
export type GitHubApproval = { runId: string; reply: 'once' | 'reject'; target: Pick<GitHubTarget, 'owner' | 'repo' | 'issue'> }

/** Whether a delivery is an answer to a run's request: undefined when it is no such command at all. */
export function approvalFromDelivery(event: string | undefined, body: unknown, rules: GitHubRules): { approval: GitHubApproval } | { ignored: string } | undefined {
  if (event !== 'issue_comment') return undefined
  const parsed = Delivery.safeParse(body)
  if (!parsed.success) return undefined
  const { action, issue, comment, repository, sender } = parsed.data
  const command = APPROVAL.exec((comment?.body ?? '').trim())
  if (!command || !issue || !repository || !comment) return undefined
  if (action !== 'created') return { ignored: `action ${action ?? '(none)'} answers nothing` }
  const distrust = untrusted(rules, { text: comment.body ?? '', association: comment.author_association, author: comment.user, sender })
  if (distrust) return { ignored: distrust }
  return {
    approval: {
      runId: command[2]!,
      reply: command[1] === 'approve' ? 'once' : 'reject',
      target: { owner: repository.owner.login, repo: repository.name, issue: issue.number },
    },
  }
}

/** The comment a trigger gets at once, edited in place with the result when the run ends. */
export const startedComment = (runId: string) => `${COMMENT_PREFIX}${runId}\`: **running**\n\nWorking on it.`

const textPart = (text: string) => (text ? `\n\n${text}` : '')
const diffPart = (diff: string) => (diff ? `\n\n<details><summary>Changes</summary>\n\n\`\`\`diff\n${diff}\n\`\`\`\n</details>` : '')

/**
 * The run's outcome as a comment on its issue. One too long for GitHub keeps its head and error,
 * then as much of the text and then of the diff (whole lines) as fits, and says where the whole
 * result is: the run keeps it.
 */
export function commentBody(run: RunView): string {
  const head = `${COMMENT_PREFIX}${run.id}\`: **${run.status}**`
  const text = run.result?.text ?? ''
  const pr = run.result?.pullRequest
  const error = (run.error ? `\n\n> ${run.error.code}: ${run.error.message}` : '') + pullRequestPart(pr)
  // A pull request shows its changes itself.
  const diff = pr?.state === 'opened' || pr?.state === 'updated' ? '' : (run.result?.diff ?? '')
  const whole = head + textPart(text) + error + diffPart(diff)
  if (byteLength(whole) <= MAX_COMMENT_BYTES) return whole
  const note = `\n\n---\n*Shortened to fit a GitHub comment. The full result is at \`GET /v1/runs/${run.id}\`.*`
  const wrappers = byteLength(textPart('.') + diffPart('.')) - 2
  const room = MAX_COMMENT_BYTES - byteLength(head + error + note) - wrappers
  const keptText = cutToBytes(text, room)
  const cutDiff = cutToBytes(diff, room - byteLength(keptText))
  const keptDiff = cutDiff === diff ? diff : cutDiff.slice(0, cutDiff.lastIndexOf('\n') + 1)
  return head + textPart(keptText) + error + diffPart(keptDiff) + note
}

/**
 * Posts `body` on the target's issue, or in the review thread it names, or edits comment
 * `commentId` (ours, posted when the run started); the comment's id, or GitHub's refusal as its status.
 */
export async function githubComment(
  env: Bindings,
  target: Pick<GitHubTarget, 'owner' | 'repo' | 'issue' | 'reviewThread'>,
  body: string,
  commentId?: number,
): Promise<{ status: number; id?: number } | 'unreachable'> {
  const repo = `/repos/${target.owner}/${target.repo}`
  const [edit, post] =
    target.reviewThread === undefined
      ? [`${repo}/issues/comments/${commentId}`, `${repo}/issues/${target.issue}/comments`]
      : [`${repo}/pulls/comments/${commentId}`, `${repo}/pulls/${target.issue}/comments/${target.reviewThread}/replies`]
  try {
    const api = await githubApi(env, target)
    const res = commentId
      ? await api.request<{ id?: number }>('PATCH', edit, { body })
      : await api.request<{ id?: number }>('POST', post, { body })
    return { status: 200, ...(typeof res?.id === 'number' && { id: res.id }) }
  } catch (err) {
    if (err instanceof GitHubError && err.status !== undefined) return { status: err.status }
    return 'unreachable'
  }
}
