import { describe, expect, it } from 'vitest'
import { commentBody, githubRules, maxRunsPerHour, taskFromDelivery } from './github'

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
    const ours = commentBody({ id: 'run_x', sessionId: 's', status: 'succeeded', createdAt: '', updatedAt: '', result: { text: 'try /opencode', usage: { inputTokens: 0, outputTokens: 0, cost: 0 } } })
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
