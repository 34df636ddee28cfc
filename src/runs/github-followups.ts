import { z } from 'zod'
import type { Bindings } from '../env'
import { Actor, COMMENT_PREFIX, cutToBytes, Repository, Text, trustedAssociation, untrusted, type GitHubRules, type GitHubTask } from './github'

/**
 * Pull requests the service opened, followed up: an inline review comment by a trusted author
 * becomes a run on the pull request's branch that answers in the comment's thread, and a failed
 * check (opt-in) becomes a run that fixes it. Pure: what a delivery asks; the route fetches what
 * the prompt needs (the thread, the check's annotations) and starts the run.
 */

/** The prefix of every branch the service names (see src/github/pull-request.ts, defaultBranch). */
export const OUR_BRANCH_PREFIX = 'opencode/'
/** A pull request someone labels so is followed up as if the service had opened it. */
export const FOLLOW_UP_LABEL = 'opencode'
export const DEFAULT_FIX_ATTEMPTS = 2

/** Fix runs for failed checks are opt-in (GITHUB_FIX_CHECKS=1); at most GITHUB_FIX_ATTEMPTS per pull request (default 2). */
export function fixRules(env: Pick<Bindings, 'GITHUB_FIX_CHECKS' | 'GITHUB_FIX_ATTEMPTS'>): { enabled: boolean; attempts: number } {
  const n = Number(env.GITHUB_FIX_ATTEMPTS)
  return { enabled: env.GITHUB_FIX_CHECKS === '1', attempts: Number.isInteger(n) && n > 0 ? n : DEFAULT_FIX_ATTEMPTS }
}

const Pull = z.object({
  number: z.number().int(),
  title: z.string(),
  head: z.object({ ref: z.string(), repo: z.object({ full_name: z.string() }).nullish() }),
  labels: z.array(z.object({ name: z.string() })).optional(),
})

/** Ours: its branch is one the service names, in the repository itself (a fork may name a branch anything), or it carries our label. */
function followedUp(pull: z.infer<typeof Pull>, slug: string): boolean {
  const ownBranch = pull.head.ref.startsWith(OUR_BRANCH_PREFIX) && pull.head.repo?.full_name.toLowerCase() === slug.toLowerCase()
  return ownBranch || (pull.labels ?? []).some((l) => l.name === FOLLOW_UP_LABEL)
}

const ReviewComment = z.object({
  id: z.number().int(),
  body: Text,
  path: z.string(),
  line: z.number().int().nullish(),
  start_line: z.number().int().nullish(),
  diff_hunk: z.string().optional(),
  in_reply_to_id: z.number().int().optional(),
  author_association: z.string().optional(),
  user: Actor.optional(),
})
export type ReviewComment = z.infer<typeof ReviewComment>

const ReviewDelivery = z.object({
  action: z.string().optional(),
  comment: ReviewComment,
  pull_request: Pull,
  repository: Repository,
  sender: Actor.optional(),
})

/** A review comment asks for a run; the thread it is in is read through the API before its prompt is written. */
export type ReviewTask = Omit<GitHubTask, 'prompt'> & { comment: ReviewComment; pullTitle: string }

export function reviewTaskFromDelivery(body: unknown, rules: GitHubRules): { task: ReviewTask } | { ignored: string } {
  const parsed = ReviewDelivery.safeParse(body)
  if (!parsed.success) return { ignored: 'not a pull_request_review_comment delivery' }
  const { action, comment, pull_request: pull, repository, sender } = parsed.data
  if (action !== 'created') return { ignored: `action ${action ?? '(none)'} starts nothing` }
  const slug = `${repository.owner.login}/${repository.name}`
  if (!followedUp(pull, slug)) return { ignored: 'a pull request the service did not open (nor labelled opencode)' }
  const distrust = untrusted(rules, { text: comment.body ?? '', association: comment.author_association, author: comment.user, sender })
  if (distrust) return { ignored: distrust }
  return {
    task: {
      target: {
        owner: repository.owner.login,
        repo: repository.name,
        issue: pull.number,
        title: pull.title,
        pullRequest: true,
        // Replies go to a thread's first comment: GitHub takes no reply to a reply.
        reviewThread: comment.in_reply_to_id ?? comment.id,
      },
      repoUrl: repository.clone_url,
      key: `${slug}:review-comment:${comment.id}`,
      comment,
      pullTitle: pull.title,
    },
  }
}

/** The part of a thread a prompt holds; a long one keeps its end. */
const MAX_THREAD_BYTES = 16_000

/**
 * The prompt of a review comment's run: where it points (file, lines, the diff hunk) and its
 * thread up to it, in order. Only trusted authors' comments are in it: a stranger's reply in the
 * thread is not the agent's instruction.
 */
export function reviewPrompt(task: ReviewTask, thread: ReviewComment[], rules: GitHubRules): string {
  const { comment, target } = task
  const lines = comment.line == null ? '' : comment.start_line != null && comment.start_line !== comment.line ? `, lines ${comment.start_line}–${comment.line}` : `, line ${comment.line}`
  const said = [...thread.filter((c) => c.id !== comment.id), comment]
    .filter((c) => trustedAssociation(rules, c.author_association) && !(c.body ?? '').startsWith(COMMENT_PREFIX))
    .sort((a, b) => a.id - b.id)
    .map((c) => `@${c.user?.login ?? 'someone'}: ${c.body ?? ''}`)
    .join('\n\n')
  const kept = said.length > MAX_THREAD_BYTES ? `…${said.slice(-MAX_THREAD_BYTES)}` : said
  return [
    `Address this review comment on pull request #${target.issue} of ${target.owner}/${target.repo} ("${task.pullTitle}"). You are on its branch; change the code as the review asks.`,
    `File: ${comment.path}${lines}`,
    ...(comment.diff_hunk ? [`The code it is on:\n\`\`\`diff\n${cutToBytes(comment.diff_hunk, 8_000)}\n\`\`\``] : []),
    `The review thread:\n${kept}`,
  ].join('\n\n')
}

const CheckRun = z.object({
  id: z.number().int(),
  name: z.string(),
  head_sha: z.string(),
  status: z.string().optional(),
  conclusion: z.string().nullish(),
  output: z.object({ title: Text, summary: Text, text: Text }).partial().optional(),
  pull_requests: z.array(z.object({ number: z.number().int(), head: z.object({ ref: z.string() }) })),
})

const CheckDelivery = z.object({ action: z.string().optional(), check_run: CheckRun, repository: Repository })

const FAILED = ['failure', 'timed_out']

/** A failed check asks for a fix run: keyed by its head commit, so one commit gets one run. */
export type FixTask = Omit<GitHubTask, 'prompt'> & { checkRunId: number; checkName: string; headSha: string; output: string }

/**
 * A `check_run` completed with a failure on a pull request the service opened asks for one fix
 * run per head commit. Who may push commits that run checks is GitHub's to decide: the pull
 * request being ours is the trust here, and the attempts per pull request are counted by the route.
 */
export function fixTaskFromDelivery(event: string | undefined, body: unknown): { task: FixTask } | { ignored: string } {
  if (event !== 'check_run') return { ignored: `event ${event ?? '(none)'} starts nothing` }
  const parsed = CheckDelivery.safeParse(body)
  if (!parsed.success) return { ignored: 'not a check_run delivery' }
  const { action, check_run: check, repository } = parsed.data
  if (action !== 'completed') return { ignored: `action ${action ?? '(none)'} starts nothing` }
  if (!FAILED.includes(check.conclusion ?? '')) return { ignored: `a check that ended ${check.conclusion ?? 'without a conclusion'} needs no fix` }
  // GitHub lists only pull requests whose branch is in the repository itself.
  const pull = check.pull_requests.find((p) => p.head.ref.startsWith(OUR_BRANCH_PREFIX))
  if (!pull) return { ignored: 'not on a pull request the service opened' }
  const slug = `${repository.owner.login}/${repository.name}`
  const out = check.output ?? {}
  return {
    task: {
      target: { owner: repository.owner.login, repo: repository.name, issue: pull.number, pullRequest: true, title: `check ${check.name}` },
      repoUrl: repository.clone_url,
      key: `${slug}:fix:${pull.number}:${check.head_sha}`,
      checkRunId: check.id,
      checkName: check.name,
      headSha: check.head_sha,
      output: [out.title, out.summary, out.text].filter(Boolean).join('\n\n'),
    },
  }
}

export type Annotation = { path?: string; start_line?: number; end_line?: number; annotation_level?: string; message?: string }

/** What failed, as the check said it and its annotations point to it; the failing part only, bounded. */
export function fixPrompt(task: FixTask, annotations: Annotation[]): string {
  const pointed = annotations
    .filter((a) => a.annotation_level === 'failure' || a.annotation_level === 'warning')
    .map((a) => `- ${a.path ?? '?'}:${a.start_line ?? '?'}${a.end_line && a.end_line !== a.start_line ? `-${a.end_line}` : ''} ${a.message ?? ''}`)
    .join('\n')
  return [
    `The check "${task.checkName}" failed on pull request #${task.target.issue} of ${task.target.owner}/${task.target.repo} at commit ${task.headSha.slice(0, 12)}. You are on its branch: find the cause and fix it.`,
    ...(task.output ? [`What the check reported:\n${cutToBytes(task.output, 16_000)}`] : []),
    ...(pointed ? [`Where it failed:\n${cutToBytes(pointed, 16_000)}`] : []),
  ].join('\n\n')
}
