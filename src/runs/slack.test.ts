import { describe, expect, it } from 'vitest'
import type { RunView } from '../contracts'
import { slackActionDecision, slackAskMessage, slackDecision, slackResultText, slackRules } from './slack'

const TENANT = `t_${'a'.repeat(32)}`
const rules = slackRules({
  SLACK_TEAM_TENANTS: JSON.stringify({ T1: TENANT }),
  SLACK_CHANNEL_REPOS: JSON.stringify({ C1: 'https://github.com/acme/widgets' }),
  SLACK_APPROVERS: JSON.stringify({ T1: ['UANN'] }),
})
const mention = (text: string, extra: Record<string, unknown> = {}, team = 'T1') => ({
  type: 'event_callback',
  team_id: team,
  event_id: 'Ev1',
  event: { type: 'app_mention', user: 'U1', text, channel: 'C1', ts: '17.1', ...extra },
})

describe('slackDecision', () => {
  it("starts a run for the team's tenant on the channel's repository, answering in the mention's thread", () => {
    expect(slackDecision(mention('<@UBOT> fix the build'), rules)).toEqual({
      task: {
        tenant: TENANT,
        prompt: 'A request from Slack:\n\nfix the build',
        repoUrl: 'https://github.com/acme/widgets',
        key: 'slack:T1:C1:17.1',
        eventId: 'Ev1',
        target: { channel: 'C1', threadTs: '17.1', team: 'T1' },
        replyOnly: false,
        inThread: false,
      },
    })
  })

  it("takes a reply in a thread as that thread's, to continue its run and start none", () => {
    const reply = { ...mention('and add a test'), event: { type: 'message', user: 'U1', text: 'and add a test', channel: 'C1', ts: '17.5', thread_ts: '17.1' } }
    expect(slackDecision(reply, rules)).toMatchObject({
      task: { prompt: 'A reply in the Slack thread:\n\nand add a test', key: 'slack:T1:C1:17.5', target: { channel: 'C1', threadTs: '17.1', team: 'T1' }, replyOnly: true, inThread: true },
    })
    expect(slackDecision(mention('<@UBOT> go on', { ts: '17.6', thread_ts: '17.1' }), rules)).toMatchObject({ task: { replyOnly: false, inThread: true } })
  })

  it("refuses a user the team's SLACK_USERS does not name, in a mention as in a reply", () => {
    const only = slackRules({ SLACK_TEAM_TENANTS: JSON.stringify({ T1: TENANT }), SLACK_USERS: JSON.stringify({ T1: ['UANN'] }) })
    expect(slackDecision(mention('<@UBOT> hi', { user: 'UANN' }), only)).toMatchObject({ task: { tenant: TENANT } })
    expect(slackDecision(mention('<@UBOT> hi'), only)).toEqual({ ignored: 'user U1 may not ask runs of this team (SLACK_USERS)' })
    const reply = { ...mention('hi'), event: { type: 'message', user: 'U1', text: 'hi', channel: 'C1', ts: '17.5', thread_ts: '17.1' } }
    expect(slackDecision(reply, only)).toEqual({ ignored: 'user U1 may not ask runs of this team (SLACK_USERS)' })
  })

  it('takes the repository a message names, as Slack writes a link, and answers in the thread it is in', () => {
    const out = slackDecision(mention('<@UBOT> look at <https://github.com/acme/api|acme/api> please', { thread_ts: '16.0' }), rules)
    expect(out).toMatchObject({ task: { repoUrl: 'https://github.com/acme/api', target: { threadTs: '16.0' } } })
  })

  it('never takes a path or a plain-http URL from a message', () => {
    const out = slackDecision(mention('<@UBOT> clone /etc or http://10.0.0.1/x.git'), rules)
    expect(out).toMatchObject({ task: { repoUrl: 'https://github.com/acme/widgets' } })
  })

  it('answers the URL check with its challenge', () => {
    expect(slackDecision({ type: 'url_verification', challenge: 'abc' }, rules)).toEqual({ challenge: 'abc' })
  })

  it.each([
    ['a team of no tenant', mention('hi', {}, 'T9'), 'team T9 belongs to no tenant (SLACK_TEAM_TENANTS)'],
    ['a bot', mention('hi', { bot_id: 'B1' }), 'sent by a bot'],
    ['our own message', mention('opencode run `run_1`: *running*'), 'our own message'],
    ['an empty mention', mention('<@UBOT>'), 'an empty request'],
    ['another event', { ...mention('hi'), event: { type: 'reaction_added' } }, 'event reaction_added starts nothing'],
    ['a user of another team in a shared channel', mention('hi', { user_team: 'T2' }), 'user U1 is of another team'],
    ['a message outside a thread', { ...mention('hi'), event: { type: 'message', user: 'U1', text: 'hi', channel: 'C1', ts: '17.5' } }, 'a message outside a thread'],
    ['an edit', { ...mention('hi'), event: { type: 'message', subtype: 'message_changed', text: '', channel: 'C1', ts: '17.5', thread_ts: '17.1' } }, 'a message of subtype message_changed'],
  ])('ignores %s', (_, body, reason) => {
    expect(slackDecision(body, rules)).toEqual({ ignored: reason })
  })

  it('maps nothing from a malformed setting', () => {
    expect(slackRules({ SLACK_TEAM_TENANTS: '{"T1": "not a tenant"}', SLACK_CHANNEL_REPOS: 'nope', SLACK_APPROVERS: '{"T1": "UANN"}', SLACK_USERS: '[]' })).toEqual({ teams: {}, channelRepos: {}, approvers: {}, users: {} })
  })
})

describe('slackResultText', () => {
  const run = (over: Partial<RunView>): RunView => ({ id: 'run_1', tenant: TENANT, sessionId: 'ses_1', status: 'succeeded', createdAt: '', updatedAt: '', ...over })
  it("links the pull request in Slack's own link form", () => {
    const text = slackResultText(run({ result: { text: 'Done.', usage: { inputTokens: 0, outputTokens: 0, cost: 0 }, pullRequest: { state: 'opened', number: 4, url: 'https://github.com/acme/widgets/pull/4' } } }))
    expect(text).toBe('Done.\n\nPull request: <https://github.com/acme/widgets/pull/4|#4>')
  })

  it('says how a run without a result ended', () => {
    expect(slackResultText(run({ status: 'failed', error: { code: 'clone_failed', message: 'no such repository' } }))).toBe('The run ended failed.\n\n> clone_failed: no such repository')
  })
})

describe('slackActionDecision', () => {
  const RUN = 'run_0123456789abcdefghjk'
  const click = (user: Record<string, unknown>, value = `${RUN}:per_1`, action_id = 'opencode_approve', team = 'T1') => ({
    type: 'block_actions',
    team: { id: team },
    user,
    channel: { id: 'C1' },
    message: { ts: '17.5', thread_ts: '17.1' },
    actions: [{ action_id, value }],
  })

  it("an approver's click answers the request its button was shown for, in its thread", () => {
    expect(slackActionDecision(click({ id: 'UANN', team_id: 'T1' }), rules)).toEqual({
      answer: { tenant: TENANT, runId: RUN, reply: 'once', where: { kind: 'slack', channel: 'C1', threadTs: '17.1', permissionId: 'per_1' }, user: 'UANN', messageTs: '17.5' },
    })
    expect(slackActionDecision(click({ id: 'UANN' }, `${RUN}:per_1`, 'opencode_deny'), rules)).toMatchObject({ answer: { reply: 'reject' } })
  })

  it('who clicked decides: a stranger, an approver id of another team, or a team of no tenant answers nothing', () => {
    expect(slackActionDecision(click({ id: 'UMAL' }), rules)).toEqual({ ignored: 'user UMAL is not an approver (SLACK_APPROVERS)' })
    expect(slackActionDecision(click({ id: 'UANN', team_id: 'T9' }), rules)).toEqual({ ignored: 'user UANN is of another team' })
    expect(slackActionDecision(click({ id: 'UANN' }, undefined, undefined, 'T9'), rules)).toEqual({ ignored: 'team T9 belongs to no tenant (SLACK_TEAM_TENANTS)' })
  })

  it('other buttons, and buttons that name no run, answer nothing', () => {
    expect(slackActionDecision(click({ id: 'UANN' }, `${RUN}:per_1`, 'someone_elses'), rules)).toEqual({ ignored: 'not an approval button' })
    expect(slackActionDecision(click({ id: 'UANN' }, 'run_nope:per_1'), rules)).toEqual({ ignored: 'not an approval button' })
    expect(slackActionDecision({ type: 'view_submission' }, rules)).toEqual({ ignored: 'not a block_actions payload this service reads' })
  })

  it("the ask's buttons carry the run and the request, and its text shows the agent's command as code", () => {
    const { text, blocks } = slackAskMessage(RUN, { permissionId: 'per_1', permission: 'bash', patterns: ['rm `x`'] })
    expect(text).toContain("*asks* to use `bash` on `rm 'x'`")
    expect(JSON.stringify(blocks)).toContain(`"value":"${RUN}:per_1"`)
  })
})
