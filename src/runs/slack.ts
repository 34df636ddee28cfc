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

export type SlackRules = { teams: Record<string, string>; channelRepos: Record<string, string> }

const parsed = <T>(schema: z.ZodType<T>, text: string | undefined, fallback: T): T => {
  if (!text?.trim()) return fallback
  try {
    const out = schema.safeParse(JSON.parse(text))
    return out.success ? out.data : fallback
  } catch {
    return fallback
  }
}

/** SLACK_TEAM_TENANTS (team id → tenant id) and SLACK_CHANNEL_REPOS (channel id → http(s) repository URL); a malformed one maps nothing. */
export function slackRules(env: Pick<Bindings, 'SLACK_TEAM_TENANTS' | 'SLACK_CHANNEL_REPOS'>): SlackRules {
  return { teams: parsed(TeamTenants, env.SLACK_TEAM_TENANTS, {}), channelRepos: parsed(ChannelRepos, env.SLACK_CHANNEL_REPOS, {}) }
}

const Mention = z.object({
  type: z.literal('app_mention'),
  text: z.string(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  channel: z.string(),
  ts: z.string(),
  thread_ts: z.string().optional(),
})

const Delivery = z.discriminatedUnion('type', [
  z.object({ type: z.literal('url_verification'), challenge: z.string().max(500) }),
  z.object({ type: z.literal('event_callback'), team_id: z.string(), event_id: z.string(), event: z.object({ type: z.string() }).passthrough() }),
])

export type SlackTask = { tenant: string; prompt: string; repoUrl?: string; key: string; eventId: string; target: SlackTarget }

export type SlackDecision = { challenge: string } | { task: SlackTask } | { ignored: string }

/** `<https://github.com/acme/widgets|acme/widgets>` or a bare https URL in the text: the first names the repository. */
const LINK = /<(https:\/\/[^|>\s]+)(?:\|[^>]*)?>|(?<![<\w])(https:\/\/[^\s>|]+)/

/** What an Events API delivery asks: the URL check's answer, a run, or nothing and why. */
export function slackDecision(body: unknown, rules: SlackRules): SlackDecision {
  const delivery = Delivery.safeParse(body)
  if (!delivery.success) return { ignored: 'not an Events API delivery this service reads' }
  if (delivery.data.type === 'url_verification') return { challenge: delivery.data.challenge }
  const { team_id: team, event_id: eventId, event } = delivery.data
  const mention = Mention.safeParse(event)
  if (!mention.success) return { ignored: `event ${event.type} starts nothing` }
  const m = mention.data
  if (m.bot_id) return { ignored: 'sent by a bot' }
  const tenant = rules.teams[team]
  if (!tenant) return { ignored: `team ${team} belongs to no tenant (SLACK_TEAM_TENANTS)` }
  // The mention of the app itself (`<@U…>`) is no part of the request.
  const request = m.text.replace(/<@[A-Z0-9]+>/g, '').trim()
  if (!request) return { ignored: 'an empty request' }
  if (request.startsWith(COMMENT_PREFIX)) return { ignored: 'our own message' }
  const link = LINK.exec(request)
  const repoUrl = link ? (link[1] ?? link[2])! : rules.channelRepos[m.channel]
  return {
    task: {
      tenant,
      prompt: `A request from Slack:\n\n${cutToBytes(request, 20_000)}`,
      ...(repoUrl && { repoUrl }),
      key: `slack:${team}:${m.channel}:${m.ts}`,
      eventId,
      target: { channel: m.channel, threadTs: m.thread_ts ?? m.ts },
    },
  }
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
