import { z } from 'zod'
import type { RunView, SlackTarget } from '../contracts'
import type { Bindings } from '../env'
import { COMMENT_PREFIX, cutToBytes } from './github'

/**
 * Slack's Events API as a trigger: which deliveries ask for a run, for which tenant, on which
 * repository, and what the run says back in the thread. Pure; the route verifies the signature
 * and starts the run, the run object posts through Slack's Web API (slack-api.ts). Message text
 * is anyone's in the workspace: the team decides the tenant, and a repository named in a message
 * must be an https URL (never a path on the host).
 */

const TenantId = z.string().regex(/^t_[0-9a-f]{32}$/)
const TeamTenants = z.record(z.string().regex(/^[A-Z0-9]+$/), TenantId)
// The operator's own mapping: http too (a local git host); a repository a message names must be https.
const ChannelRepos = z.record(z.string().regex(/^[A-Z0-9]+$/), z.string().regex(/^https?:\/\/\S+$/))

const SlackId = z.string().regex(/^[A-Z0-9]+$/)
/** team id → user ids: SLACK_APPROVERS, SLACK_USERS */
const TeamUsers = z.record(SlackId, z.array(SlackId))

export type SlackRules = {
  teams: Record<string, string>
  channelRepos: Record<string, string>
  approvers: Record<string, string[]>
  /** team id → the only users whose messages reach runs; a team not named: any of its own members */
  users: Record<string, string[]>
}

const parsed = <T>(schema: z.ZodType<T>, text: string | undefined, fallback: T): T => {
  if (!text?.trim()) return fallback
  try {
    const out = schema.safeParse(JSON.parse(text))
    return out.success ? out.data : fallback
  } catch {
    return fallback
  }
}

/**
 * SLACK_TEAM_TENANTS (team id → tenant id), SLACK_CHANNEL_REPOS (channel id → http(s) repository
 * URL), SLACK_APPROVERS (team id → the user ids who may answer a run's asks) and SLACK_USERS (team
 * id → the user ids whose mentions and thread replies reach runs); a malformed one maps nothing.
 */
export function slackRules(env: Pick<Bindings, 'SLACK_TEAM_TENANTS' | 'SLACK_CHANNEL_REPOS' | 'SLACK_APPROVERS' | 'SLACK_USERS'>): SlackRules {
  return {
    teams: parsed(TeamTenants, env.SLACK_TEAM_TENANTS, {}),
    channelRepos: parsed(ChannelRepos, env.SLACK_CHANNEL_REPOS, {}),
    approvers: parsed(TeamUsers, env.SLACK_APPROVERS, {}),
    users: parsed(TeamUsers, env.SLACK_USERS, {}),
  }
}

/** A mention of the app, or (`message`, from the channels' message events) a reply in a thread. */
const Message = z.object({
  type: z.enum(['app_mention', 'message']),
  subtype: z.string().optional(),
  text: z.string(),
  user: z.string().optional(),
  /** in a channel shared with other organisations, the team of whoever wrote */
  user_team: z.string().optional(),
  bot_id: z.string().optional(),
  channel: z.string(),
  ts: z.string(),
  thread_ts: z.string().optional(),
})

const Delivery = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: z.string().max(500) }),
  z.object({ type: z.literal('event_callback'), team_id: z.string(), event_id: z.string(), event: z.object({ type: z.string() }).passthrough() }),
])

export type SlackTask = {
  tenant: string
  prompt: string
  repoUrl?: string
  /** names the message: the run it starts, and its one turn when it continues a thread's run */
  key: string
  eventId: string
  target: SlackTarget
  /** a reply in a thread without a mention: it continues the thread's run, and starts none */
  replyOnly: boolean
  /** the message is in a thread (slackThreadKey), whose run it may continue */
  inThread: boolean
}

/** A thread as the tenant's index knows it: the same ts in another team or channel is another thread. */
export const slackThreadKey = (target: SlackTarget) => `${target.team ?? ''}:${target.channel}:${target.threadTs}`

export type SlackDecision = { challenge: string } | { task: SlackTask } | { ignored: string }

/** `<https://github.com/acme/widgets|acme/widgets>` or a bare https URL in the text: the first names the repository. */
const LINK = /<(https:\/\/[^|>\s]+)(?:\|[^>]*)?>|(?<![<\w])(https:\/\/[^\s>|]+)/

/** What an Events API delivery asks: the URL check's answer, a run (or its next turn), or nothing and why. */
export function slackDecision(body: unknown, rules: SlackRules): SlackDecision {
  const delivery = Delivery.safeParse(body)
  if (!delivery.success) return { ignored: 'not an Events API delivery this service reads' }
  if (delivery.data.type === 'url_verification') return { challenge: delivery.data.challenge }
  const { team_id: team, event_id: eventId, event } = delivery.data
  const message = Message.safeParse(event)
  if (!message.success) return { ignored: `event ${event.type} starts nothing` }
  const m = message.data
  const replyOnly = m.type === 'message'
  if (replyOnly && m.subtype !== undefined) return { ignored: `a message of subtype ${m.subtype}` }
  if (replyOnly && (m.thread_ts === undefined || m.thread_ts === m.ts)) return { ignored: 'a message outside a thread' }
  if (m.bot_id) return { ignored: 'sent by a bot' }
  const tenant = rules.teams[team]
  if (!tenant) return { ignored: `team ${team} belongs to no tenant (SLACK_TEAM_TENANTS)` }
  const refused = userRefusal(m, team, rules)
  if (refused) return { ignored: refused }
  // The mention of the app itself (`<@U…>`) is no part of the request.
  const request = m.text.replace(/<@[A-Z0-9]+>/g, '').trim()
  if (!request) return { ignored: 'an empty request' }
  if (request.startsWith(COMMENT_PREFIX)) return { ignored: 'our own message' }
  const link = LINK.exec(request)
  const repoUrl = link ? (link[1] ?? link[2])! : rules.channelRepos[m.channel]
  return {
    task: {
      tenant,
      prompt: `${replyOnly ? 'A reply in the Slack thread' : 'A request from Slack'}:\n\n${cutToBytes(request, 20_000)}`,
      ...(repoUrl && { repoUrl }),
      key: `slack:${team}:${m.channel}:${m.ts}`,
      eventId,
      target: { channel: m.channel, threadTs: m.thread_ts ?? m.ts, team },
      replyOnly,
      inThread: m.thread_ts !== undefined,
    },
  }
}

/**
 * Whose messages reach a run: a member of the team (a channel shared with another organisation
 * holds its people too), and of the team's SLACK_USERS when it names any. The same for a mention
 * and a reply, so a thread carries no one's words a mention would not have taken.
 */
function userRefusal(m: { user?: string; user_team?: string }, team: string, rules: SlackRules): string | undefined {
  if (!m.user) return 'a message with no user'
  if (m.user_team !== undefined && m.user_team !== team) return `user ${m.user} is of another team`
  const users = rules.users[team]
  if (users && !users.includes(m.user)) return `user ${m.user} may not ask runs of this team (SLACK_USERS)`
  return undefined
}

/** The message the run keeps in the thread, edited in place as it goes. */
export const slackProgressText = (runId: string, status: string, note = 'Working on it.') => `${COMMENT_PREFIX}${runId}\`: *${status}* — ${note}`

/** Slack takes 40,000 characters in a message; we stop well before. */
const MAX_SLACK_BYTES = 30_000

/** The run's result as a reply in the thread: its summary, and the pull request's link. */
export function slackResultText(run: RunView): string {
  const pr = run.result?.pullRequest
  const link =
    pr?.url && (pr.state === 'opened' || pr.state === 'updated')
      ? `\n\nPull request: <${pr.url}|#${pr.number}>`
      : pr?.state === 'failed'
        ? `\n\nThe changes could not be pushed: ${pr.error?.message ?? 'GitHub refused them'}`
        : ''
  const error = run.error ? `\n\n> ${run.error.code}: ${run.error.message}` : ''
  return cutToBytes(`${run.result?.text || `The run ended ${run.status}.`}${error}${link}`, MAX_SLACK_BYTES)
}

const APPROVE = 'opencode_approve'
const DENY = 'opencode_deny'

/**
 * The agent's request in the run's thread, with buttons to answer it. Each button carries the run
 * and the request it was shown for, so a late click never answers a later request.
 */
export function slackAskMessage(runId: string, ask: { permissionId: string; permission: string; patterns: string[] }): { text: string; blocks: unknown[] } {
  const what = ask.patterns.map((p) => `\`${cutToBytes(p.replace(/`/g, "'"), 300)}\``).join(', ')
  const text = `${COMMENT_PREFIX}${runId}\`: *asks* to use \`${ask.permission}\`${what ? ` on ${what}` : ''}. An approver answers below; unanswered, it is denied in time.`
  const value = `${runId}:${ask.permissionId}`
  const button = (action_id: string, label: string, style: string) => ({ type: 'button', action_id, text: { type: 'plain_text', text: label }, style, value })
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      { type: 'actions', block_id: 'opencode_ask', elements: [button(APPROVE, 'Approve', 'primary'), button(DENY, 'Deny', 'danger')] },
    ],
  }
}

/** The request's message once answered: what was decided and by whom, its buttons gone. */
export const slackAnsweredText = (runId: string, reply: 'once' | 'reject', user: string) =>
  `${COMMENT_PREFIX}${runId}\`: ${reply === 'once' ? '*approved*' : '*denied*'} by <@${user}>.`

const ActionPayload = z.object({
  type: z.literal('block_actions'),
  team: z.object({ id: z.string() }),
  user: z.object({ id: z.string(), team_id: z.string().optional() }),
  channel: z.object({ id: z.string() }).optional(),
  container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional(), thread_ts: z.string().optional() }).optional(),
  message: z.object({ ts: z.string(), thread_ts: z.string().optional() }).optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })),
})

const BUTTON_VALUE = /^(run_[0-9a-z]{20}):(\S{1,200})$/

export type SlackAnswer = {
  tenant: string
  runId: string
  reply: 'once' | 'reject'
  where: { kind: 'slack'; channel: string; threadTs: string; permissionId: string }
  user: string
  /** the request's message, edited once answered */
  messageTs: string
}

/**
 * What a click on an interactive message asks: an answer to a run's request when it is one of our
 * buttons, clicked by an approver of the team (SLACK_APPROVERS) the tenant belongs to. Anyone in a
 * channel can click: who clicked decides, never what the button says.
 */
export function slackActionDecision(payload: unknown, rules: SlackRules): { answer: SlackAnswer } | { ignored: string } {
  const parsed = ActionPayload.safeParse(payload)
  if (!parsed.success) return { ignored: 'not a block_actions payload this service reads' }
  const { team, user, channel, container, message, actions } = parsed.data
  const action = actions.find((a) => a.action_id === APPROVE || a.action_id === DENY)
  const button = action && BUTTON_VALUE.exec(action.value ?? '')
  if (!action || !button) return { ignored: 'not an approval button' }
  const tenant = rules.teams[team.id]
  if (!tenant) return { ignored: `team ${team.id} belongs to no tenant (SLACK_TEAM_TENANTS)` }
  // A shared channel holds people of other teams too.
  if (user.team_id !== undefined && user.team_id !== team.id) return { ignored: `user ${user.id} is of another team` }
  if (!(rules.approvers[team.id] ?? []).includes(user.id)) return { ignored: `user ${user.id} is not an approver (SLACK_APPROVERS)` }
  const channelId = channel?.id ?? container?.channel_id
  const threadTs = message?.thread_ts ?? container?.thread_ts
  const messageTs = message?.ts ?? container?.message_ts
  if (!channelId || !threadTs || !messageTs) return { ignored: 'a button outside a thread' }
  return {
    answer: {
      tenant,
      runId: button[1]!,
      reply: action.action_id === APPROVE ? 'once' : 'reject',
      where: { kind: 'slack', channel: channelId, threadTs, permissionId: button[2]! },
      user: user.id,
      messageTs,
    },
  }
}
