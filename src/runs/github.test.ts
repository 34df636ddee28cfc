import { describe, expect, it } from 'vitest'
import type { PullRequestResult, RunView } from '../contracts'
import { approvalFromDelivery, askComment, commentBody, cutToBytes, githubRules, MAX_COMMENT_BYTES, maxRunsPerHour, pullRequestPart, startedComment, taskFromDelivery } from './github'

const rules = githubRules({})
const repository = { name: 'widgets', owner: { login: 'acme' }, clone_url: 'https://github.com/acme/widgets.git' }
const issue = (body: string, association = 'OWNER') => ({ id: 901, number: 7, title: 'Fix it', body, author_association: association, user: { login: 'ann', type: 'User' } })
const opened = (body: string, association?: string, sender = { login: 'ann', type: 'User' }) => ({
  action: 'opened',
  issue: issue(body, association),
  repository,
  sender,
})
const commented = (body: string, association = 'MEMBER', user = { login: 'bob', type: 'User' }) => ({
  action: 'created',
  issue: issue('no phrase', 'NONE'),
  comment: { id: 5501, body, author_association: association, user },
  repository,
  sender: user,
})

describe('taskFromDelivery', () => {
  it('starts a task for a trusted issue author, keyed by the issue id', () => {
    const out = taskFromDelivery('issues', opened('/opencode fix'), rules)
    expect(out).toMatchObject({ task: { key: 'acme/widgets:issue:901', target: { owner: 'acme', repo: 'widgets', issue: 7 } } })
  })

  it('starts a task for a trusted commenter on an untrusted issue, keyed by the comment id', () => {
    const out = taskFromDelivery('issue_comment', commented('/opencode please'), rules)
    expect(out).toMatchObject({ task: { key: 'acme/widgets:comment:5501' } })
    expect('task' in out && out.task.prompt).toContain('Request in a comment:\n/opencode please')
  })

  it.each([
    ['NONE', 'author association NONE is not trusted'],
    ['CONTRIBUTOR', 'author association CONTRIBUTOR is not trusted'],
    ['FIRST_TIME_CONTRIBUTOR', 'author association FIRST_TIME_CONTRIBUTOR is not trusted'],
  ])('ignores a comment by %s', (association, reason) => {
    expect(taskFromDelivery('issue_comment', commented('/opencode', association), rules)).toEqual({ ignored: reason })
  })

  it('ignores an issue with no association', () => {
    const payload = opened('/opencode')
    delete (payload.issue as { author_association?: string }).author_association
    expect(taskFromDelivery('issues', payload, rules)).toEqual({ ignored: 'author association NONE is not trusted' })
  })

  it('ignores bots, as sender or as author, and our own comments', () => {
    const bot = { login: 'helper[bot]', type: 'Bot' }
    expect(taskFromDelivery('issue_comment', commented('/opencode', 'OWNER', bot), rules)).toEqual({ ignored: 'sent by a bot' })
    expect(taskFromDelivery('issues', opened('/opencode', 'OWNER', bot), rules)).toEqual({ ignored: 'sent by a bot' })
    const ours = commentBody({ id: 'run_x', tenant: 't', sessionId: 's', status: 'succeeded', createdAt: '', updatedAt: '', result: { text: 'try /opencode', usage: { inputTokens: 0, outputTokens: 0, cost: 0 } } })
    expect(taskFromDelivery('issue_comment', commented(ours, 'OWNER'), rules)).toEqual({ ignored: 'our own comment' })
  })

  it('ignores other events, actions, and text without the phrase', () => {
    expect(taskFromDelivery('push', { ...opened('/opencode') }, rules)).toEqual({ ignored: 'event push starts nothing' })
    expect(taskFromDelivery('issues', { ...opened('/opencode'), action: 'edited' }, rules)).toEqual({ ignored: 'action edited starts nothing' })
    expect(taskFromDelivery('issues', opened('nothing'), rules)).toEqual({ ignored: 'no trigger phrase' })
  })

  it('ignores bodies that are not deliveries of the event they claim', () => {
    for (const body of [null, 7, 'text', [], { issue: { number: 'seven', title: 1 }, repository }]) {
      expect(taskFromDelivery('issues', body, rules)).toEqual({ ignored: 'not an issues delivery' })
    }
    const wrongTypes = { ...commented('/opencode'), comment: { id: 1, body: 42, author_association: 'OWNER' } }
    expect(taskFromDelivery('issue_comment', wrongTypes, rules)).toEqual({ ignored: 'not an issue_comment delivery' })
  })

  it('takes the trusted associations and the trigger from settings', () => {
    const custom = githubRules({ GITHUB_ALLOWED_ASSOCIATIONS: 'owner, contributor', GITHUB_TRIGGER: '@bot' })
    expect(custom).toEqual({ trigger: '@bot', allowedAssociations: ['OWNER', 'CONTRIBUTOR'] })
    expect(taskFromDelivery('issue_comment', commented('@bot go', 'CONTRIBUTOR'), custom)).toHaveProperty('task')
    expect(taskFromDelivery('issue_comment', commented('@bot go', 'MEMBER'), custom)).toEqual({ ignored: 'author association MEMBER is not trusted' })
  })

  it('reads the rate limit setting', () => {
    expect(maxRunsPerHour({})).toBe(10)
    expect(maxRunsPerHour({ GITHUB_MAX_RUNS_PER_HOUR: '3' })).toBe(3)
    expect(maxRunsPerHour({ GITHUB_MAX_RUNS_PER_HOUR: 'x' })).toBe(10)
  })
})

describe('commentBody', () => {
  const usage = { inputTokens: 0, outputTokens: 0, cost: 0 }
  const run = (result: RunView['result'], error?: RunView['error']): RunView => ({
    id: 'run_long',
    tenant: 't',
    sessionId: 's',
    status: error ? 'failed' : 'succeeded',
    createdAt: '',
    updatedAt: '',
    result,
    ...(error && { error }),
  })
  const bytes = (s: string) => new TextEncoder().encode(s).length
  const note = 'The full result is at `GET /v1/runs/run_long`.'

  it('keeps a comment that fits whole, with no note', () => {
    const body = commentBody(run({ text: 'Done.', diff: '+a\n', usage }))
    expect(body).toBe('opencode run `run_long`: **succeeded**\n\nDone.\n\n<details><summary>Changes</summary>\n\n```diff\n+a\n\n```\n</details>')
  })

  it('cuts a long diff at a whole line, keeps the text and the error, and says where the rest is', () => {
    const line = (n: number) => `+line ${n} ${'x'.repeat(90)}\n`
    const diff = Array.from({ length: 1_000 }, (_, n) => line(n)).join('')
    const body = commentBody(run({ text: 'Changed many files.', diff, usage }, { code: 'budget_exceeded', message: 'spent' }))
    expect(bytes(body)).toBeLessThanOrEqual(MAX_COMMENT_BYTES)
    expect(body).toContain('\n\nChanged many files.')
    expect(body).toContain('> budget_exceeded: spent')
    expect(body).toContain(line(0))
    expect(body).not.toContain(line(999))
    expect(body).toMatch(/\n\+line \d+ x{90}\n\n```\n<\/details>/)
    expect(body.endsWith(note + '*')).toBe(true)
  })

  it('counts multi-byte characters by their bytes and never splits one', () => {
    const text = '€😀'.repeat(20_000)
    const body = commentBody(run({ text, usage }))
    expect(bytes(body)).toBeLessThanOrEqual(MAX_COMMENT_BYTES)
    expect(bytes(body)).toBeGreaterThan(MAX_COMMENT_BYTES - 100)
    expect(body).not.toMatch(/\uFFFD/)
    expect(body).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
    expect(body).toContain(note)
  })

  it('cutToBytes stops before a character that would not fit', () => {
    expect(cutToBytes('a€b', 3)).toBe('a')
    expect(cutToBytes('a€b', 4)).toBe('a€')
    expect(cutToBytes('😀😀', 7)).toBe('😀')
    expect(cutToBytes('abc', 5)).toBe('abc')
    expect(cutToBytes('abc', -1)).toBe('')
  })
})

describe('GitHub comments of runs that end in pull requests', () => {
  const usage = { inputTokens: 0, outputTokens: 0, cost: 0 }
  const run = (pullRequest: PullRequestResult): RunView => ({
    id: 'run_pr',
    tenant: 't',
    sessionId: 's',
    status: 'succeeded',
    createdAt: '',
    updatedAt: '',
    result: { text: 'Done.', diff: '+a\n', usage, pullRequest },
  })

  it('links an opened or updated pull request and leaves the diff to it', () => {
    const opened = commentBody(run({ state: 'opened', number: 12, url: 'https://x/pull/12', branch: 'b', commit: 'c'.repeat(40) }))
    expect(opened).toContain('Opened pull request [#12](https://x/pull/12) from `b`.')
    expect(opened).not.toContain('```diff')
    const updated = commentBody(run({ state: 'updated', number: 12, url: 'https://x/pull/12', branch: 'b', commit: 'abcdef0123'.padEnd(40, '0') }))
    expect(updated).toContain('Pushed abcdef0 to `b` of [#12](https://x/pull/12).')
  })

  it('keeps the diff when nothing could be pushed, and says why', () => {
    const fork = commentBody(run({ state: 'not_pushed', number: 3 }))
    expect(fork).toContain('in a fork')
    expect(fork).toContain('```diff\n+a\n')
    const failed = commentBody(run({ state: 'failed', branch: 'b', error: { status: 422, message: 'Reference already exists' } }))
    expect(failed).toContain('could not be pushed to `b`: Reference already exists')
    expect(failed).toContain('```diff\n+a\n')
    expect(pullRequestPart({ state: 'unchanged' })).toContain('No changes')
  })

  it('starts with a comment that is ours, and never a request', () => {
    expect(taskFromDelivery('issue_comment', commented(startedComment('run_x') + ' /opencode', 'OWNER'), rules)).toEqual({ ignored: 'our own comment' })
  })

  it('tells a comment on a pull request from one on an issue, and keeps the default branch', () => {
    const onPull = { ...commented('/opencode more'), issue: { ...issue('x'), pull_request: { url: 'u' } }, repository: { ...repository, default_branch: 'trunk' } }
    expect(taskFromDelivery('issue_comment', onPull, rules)).toMatchObject({ task: { target: { issue: 7, pullRequest: true, defaultBranch: 'trunk', title: 'Fix it' } } })
    const onIssue = taskFromDelivery('issue_comment', commented('/opencode more'), rules)
    expect('task' in onIssue && onIssue.task.target.pullRequest).toBeFalsy()
  })
})

describe('approvalFromDelivery', () => {
  const RUN = 'run_0123456789abcdefghjk'

  it("reads a trusted author's /approve or /deny of a run, on the issue it was written on", () => {
    expect(approvalFromDelivery('issue_comment', commented(`/approve ${RUN}`), rules)).toEqual({
      approval: { runId: RUN, reply: 'once', target: { owner: 'acme', repo: 'widgets', issue: 7 } },
    })
    expect(approvalFromDelivery('issue_comment', commented(`/deny ${RUN} too risky`), rules)).toMatchObject({ approval: { reply: 'reject' } })
  })

  it("lets a stranger's or a bot's approval through to nothing, and says why", () => {
    expect(approvalFromDelivery('issue_comment', commented(`/approve ${RUN}`, 'NONE'), rules)).toEqual({ ignored: 'author association NONE is not trusted' })
    expect(approvalFromDelivery('issue_comment', commented(`/approve ${RUN}`, 'OWNER', { login: 'ci', type: 'Bot' }), rules)).toEqual({ ignored: 'sent by a bot' })
  })

  it('is no approval without a command that names a run at its start', () => {
    expect(approvalFromDelivery('issue_comment', commented('/approve'), rules)).toBeUndefined()
    expect(approvalFromDelivery('issue_comment', commented(`please /approve ${RUN}`), rules)).toBeUndefined()
    expect(approvalFromDelivery('issues', opened(`/approve ${RUN}`), rules)).toBeUndefined()
  })

  it('asks in a comment that is ours, showing what the agent would run as code', () => {
    const body = askComment(RUN, 'bash', ['rm -rf `x`'])
    expect(body.startsWith('opencode run `')).toBe(true)
    expect(body).toContain("`rm -rf 'x'`")
    expect(body).toContain(`/approve ${RUN}`)
    expect(taskFromDelivery('issue_comment', commented(`${body} /opencode`), rules)).toEqual({ ignored: 'our own comment' })
  })
})
