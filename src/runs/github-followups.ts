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

const OpenedDelivery = z.object({
  action: z.string().optional(),
  pull_request: Pull.extend({ body: Text, author_association: z.string().optional(), user: Actor.optional(), base: z.object({ ref: z.string() }) }),
  repository: Repository,
  sender: Actor.optional(),
})

/**
 * A pull request opened by a trusted author with our label or the trigger phrase asks for a
 * review: a run on its branch that changes nothing and answers with a comment. One the service
 * opened itself is never reviewed so.
 */
export function openedReviewFromDelivery(body: unknown, rules: GitHubRules): { task: GitHubTask } | { ignored: string } {
  const parsed = OpenedDelivery.safeParse(body)
  if (!parsed.success) return { ignored: 'not a pull_request delivery' }
  const { action, pull_request: pull, repository, sender } = parsed.data
  if (action !== 'opened') return { ignored: `action ${action ?? '(none)'} starts nothing` }
  const slug = `${repository.owner.login}/${repository.name}`
  if (pull.head.ref.startsWith(OUR_BRANCH_PREFIX) && pull.head.repo?.full_name.toLowerCase() === slug.toLowerCase()) return { ignored: 'a pull request the service opened' }
  const text = `${pull.title}\n\n${pull.body ?? ''}`
  const labelled = (pull.labels ?? []).some((l) => l.name === FOLLOW_UP_LABEL)
  if (!labelled && !text.includes(rules.trigger)) return { ignored: 'no trigger phrase or label' }
  const distrust = untrusted(rules, { text, association: pull.author_association, author: pull.user, sender })
  if (distrust) return { ignored: distrust }
  return {
    task: {
      target: { owner: repository.owner.login, repo: repository.name, issue: pull.number, title: pull.title, pullRequest: true, review: true },
      repoUrl: repository.clone_url,
      key: `${slug}:review-on-open:${pull.number}`,
      prompt: [
        `Review pull request #${pull.number} of ${slug} ("${pull.title}"). You are on its branch; it would merge into \`${pull.base.ref}\`.`,
        'Read its changes against that branch and write a review: what is wrong, risky or missing, with the file and line of each point, and what is good. Change no files: your answer is posted as the review.',
        ...(pull.body ? [`Its description:\n${cutToBytes(pull.body, 16_000)}`] : []),
      ].join('\n\n'),
    },
  }
}

const PullRefs = z.array(z.object({ number: z.number().int(), head: z.object({ ref: z.string() }) }))
const Output = z.object({ title: Text, summary: Text, text: Text }).partial().nullish()
const Completed = { id: z.number().int(), head_sha: z.string(), conclusion: z.string().nullish(), pull_requests: PullRefs }

/** The three ways GitHub says checks failed: one check, a suite of them, or an Actions workflow. */
const FixDeliveries = {
  check_run: z.object({ action: z.string().optional(), repository: Repository, check_run: z.object({ ...Completed, name: z.string(), output: Output }) }),
  check_suite: z.object({ action: z.string().optional(), repository: Repository, check_suite: z.object({ ...Completed, app: z.object({ name: z.string() }).nullish() }) }),
  workflow_run: z.object({ action: z.string().optional(), repository: Repository, workflow_run: z.object({ ...Completed, name: z.string().nullish() }) }),
}
export type FixEvent = keyof typeof FixDeliveries
export const isFixEvent = (event: string | undefined): event is FixEvent => event !== undefined && Object.hasOwn(FixDeliveries, event)

const FAILED = ['failure', 'timed_out']
export const failed = (conclusion: string | null | undefined) => FAILED.includes(conclusion ?? '')

/** What failed, as the delivery names it; its failing part is read through the API (check-failures.ts). */
export type FailedCheck = { kind: FixEvent; id: number; name: string; output: string }

/** A failed check asks for a fix run: keyed by its head commit, so one commit gets one run, whichever way GitHub says it failed. */
export type FixTask = Omit<GitHubTask, 'prompt'> & { check: FailedCheck; headSha: string }

const outputText = (out: z.infer<typeof Output>) => [out?.title, out?.summary, out?.text].filter(Boolean).join('\n\n')

/**
 * A `check_run`, `check_suite` or `workflow_run` completed with a failure on a pull request the
 * service opened asks for one fix run per head commit. Who may push commits that run checks is
 * GitHub's to decide: the pull request being ours is the trust here, and the attempts per pull
 * request are counted by the route.
 */
export function fixTaskFromDelivery(event: string | undefined, body: unknown): { task: FixTask } | { ignored: string } {
  if (!isFixEvent(event)) return { ignored: `event ${event ?? '(none)'} starts nothing` }
  const parsed = FixDeliveries[event].safeParse(body)
  if (!parsed.success) return { ignored: `not a ${event} delivery` }
  const { action, repository } = parsed.data
  const check: FailedCheck & { head_sha: string; conclusion?: string | null; pull_requests: z.infer<typeof PullRefs> } =
    'check_run' in parsed.data
      ? { ...parsed.data.check_run, kind: event, output: outputText(parsed.data.check_run.output) }
      : 'check_suite' in parsed.data
        ? { ...parsed.data.check_suite, kind: event, name: parsed.data.check_suite.app?.name ?? 'checks', output: '' }
        : { ...parsed.data.workflow_run, kind: event, name: parsed.data.workflow_run.name ?? 'workflow', output: '' }
  if (action !== 'completed') return { ignored: `action ${action ?? '(none)'} starts nothing` }
  if (!failed(check.conclusion)) return { ignored: `a check that ended ${check.conclusion ?? 'without a conclusion'} needs no fix` }
  // GitHub lists only pull requests whose branch is in the repository itself.
  const pull = check.pull_requests.find((p) => p.head.ref.startsWith(OUR_BRANCH_PREFIX))
  if (!pull) return { ignored: 'not on a pull request the service opened' }
  const slug = `${repository.owner.login}/${repository.name}`
  return {
    task: {
      target: { owner: repository.owner.login, repo: repository.name, issue: pull.number, pullRequest: true, title: `check ${check.name}` },
      repoUrl: repository.clone_url,
      key: `${slug}:fix:${pull.number}:${check.head_sha}`,
      check: { kind: check.kind, id: check.id, name: check.name, output: check.output },
      headSha: check.head_sha,
    },
  }
}

export type Annotation = { path?: string; start_line?: number; end_line?: number; annotation_level?: string; message?: string }

/** One failed check or job, read through the API: what it reported, where it points, the failing part of its log. */
export type Failure = { name: string; report?: string; annotations?: Annotation[]; log?: string }

const LABEL: Record<FixEvent, string> = { check_run: 'check', check_suite: 'check suite', workflow_run: 'workflow' }
/** Each part of the prompt that comes from CI is bounded: logs are long, and the model's context is not. */
const MAX_PART_BYTES = 16_000

const pointedAt = (annotations: Annotation[]) =>
  annotations
    .filter((a) => a.annotation_level === 'failure' || a.annotation_level === 'warning')
    .map((a) => `- ${a.path ?? '?'}:${a.start_line ?? '?'}${a.end_line && a.end_line !== a.start_line ? `-${a.end_line}` : ''} ${a.message ?? ''}`)
    .join('\n')

/** What failed, as the check said it, where its annotations point, and its log's failing part; bounded. */
export function fixPrompt(task: FixTask, failures: Failure[]): string {
  const { check, target } = task
  const parts = failures.flatMap((f) => {
    const pointed = pointedAt(f.annotations ?? [])
    const own = f.name === check.name && failures.length === 1
    return [
      ...(own ? [] : [`Failed: ${f.name}`]),
      ...(f.report ? [`What it reported:\n${cutToBytes(f.report, MAX_PART_BYTES)}`] : []),
      ...(pointed ? [`Where it failed:\n${cutToBytes(pointed, MAX_PART_BYTES)}`] : []),
      ...(f.log ? [`The failing part of its log:\n\`\`\`\n${f.log}\n\`\`\``] : []),
    ]
  })
  return [
    `The ${LABEL[check.kind]} "${check.name}" failed on pull request #${target.issue} of ${target.owner}/${target.repo} at commit ${task.headSha.slice(0, 12)}. You are on its branch: find the cause and fix it.`,
    ...(check.output ? [`What the check reported:\n${cutToBytes(check.output, MAX_PART_BYTES)}`] : []),
    ...parts,
  ].join('\n\n')
}

/** Actions prefixes each log line with its time; the prompt reads better without. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT[\d:.]+Z /
const ERROR_LINE = /##\[error\]|\berror\b|\bfailed\b|\bFAIL\b/i
/** Lines of a log kept before its first error, for what led to it. */
const CONTEXT_LINES = 30

/**
 * The part of a job's log that says why it failed: from a little before its first error line to
 * its last (or its end, when no line says error), keeping the end when that is too long.
 */
export function failingPart(log: string, maxBytes = 8_000): string {
  const lines = log.split(/\r?\n/).map((l) => l.replace(TIMESTAMP, ''))
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  const first = lines.findIndex((l) => ERROR_LINE.test(l))
  const last = lines.findLastIndex((l) => ERROR_LINE.test(l))
  const part = first < 0 ? lines.slice(-CONTEXT_LINES * 2) : lines.slice(Math.max(0, first - CONTEXT_LINES), last + 1)
  const text = part.join('\n')
  if (new TextEncoder().encode(text).length <= maxBytes) return text
  // The end says most: the last error, the exit code.
  const bytes = new TextEncoder().encode(text)
  const tail = new TextDecoder().decode(bytes.subarray(bytes.length - maxBytes))
  return `…${tail.slice(tail.indexOf('\n') + 1)}`
}
