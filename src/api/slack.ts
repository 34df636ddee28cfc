import { OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv } from '../env'
import { guardStub, runStub, tenantStub } from '../durable-objects'
import { githubRepoOf } from '../github/repo-url'
import { ApiError } from '../lib/errors'
import { log } from '../lib/log'
import { freshTimestamp, slackSignatureMatches } from '../runs/signing'
import { slackActionDecision, slackDecision, slackRules, slackThreadKey, type SlackTask } from '../runs/slack'
import { sayInThread, settleAsk } from '../runs/slack-api'
import { json } from './openapi'
import { ErrorBody, RunAccepted } from '../contracts'
import type { Bindings } from '../env'
import { parseJson, startRun } from './runs'
import { acceptedRun } from '../runs/trigger'

/** Slack retries a delivery for up to hours; an event id is remembered for a day. */
const EVENT_TTL_MS = 24 * 60 * 60 * 1000

export const slackWebhook = new OpenAPIHono<AppEnv>()

// The signature covers the raw bytes, so the route reads and validates its body itself.
slackWebhook.openAPIRegistry.registerPath({
  method: 'post',
  path: '/',
  summary: "Slack's Events API",
  description:
    "Verified with SLACK_SIGNING_SECRET over `v0:<X-Slack-Request-Timestamp>:<raw body>` (`X-Slack-Signature: v0=<hex>`), the timestamp within five minutes. Answers Slack's `url_verification` with its challenge. An `app_mention` in a team of SLACK_TEAM_TENANTS, by a member of the team (of SLACK_USERS when it names the team's), starts a run for that tenant, on the https repository the message names or the channel's (SLACK_CHANNEL_REPOS), ending in a pull request on a repository granted to the tenant; the run keeps one progress message in the thread, edited in place, and replies there with the result and the pull request's link. A mention or a reply (`message` event) in the thread of such a run, by such a user, is one more turn of that run's session, for a day after its last turn ended; after that, a fresh run, and the thread is told. One event, and one message however many events carry it, is taken once, however often Slack retries it (`X-Slack-Retry-Num`). Anything else is acknowledged and ignored, with the reason.",
  request: { body: { ...json(z.record(z.string(), z.unknown()), 'A Slack Events API delivery'), required: true } },
  responses: {
    200: json(
      z.object({ challenge: z.string().optional(), ignored: z.boolean().optional(), reason: z.string().optional(), run: RunAccepted.optional() }),
      'Acknowledged',
    ),
    401: json(ErrorBody, 'A missing, wrong or stale signature'),
  },
})

/** The raw body, when Slack signed it within five minutes: events and button clicks alike. */
async function verifiedSlackBody(c: Context<AppEnv>): Promise<string> {
  const secret = c.env.SLACK_SIGNING_SECRET
  if (!secret) throw new ApiError('unauthorized', 'this webhook is not configured')
  const timestamp = c.req.header('x-slack-request-timestamp')
  if (!freshTimestamp(timestamp)) throw new ApiError('unauthorized', 'X-Slack-Request-Timestamp is missing or older than five minutes')
  const raw = await c.req.text()
  if (!(await slackSignatureMatches(secret, timestamp!, raw, c.req.header('x-slack-signature')))) {
    throw new ApiError('unauthorized', 'bad or missing X-Slack-Signature')
  }
  return raw
}

slackWebhook.post('/', async (c) => {
  const raw = await verifiedSlackBody(c)
  const decided = slackDecision(parseJson(raw), slackRules(c.env))
  if ('challenge' in decided) return c.json({ challenge: decided.challenge }, 200)
  if ('ignored' in decided) return c.json({ ignored: true, reason: decided.ignored }, 200)
  const { task } = decided
  const threads = tenantStub(c.env, task.tenant)
  const threadRun = task.inThread ? await threads.slackThreadRun(slackThreadKey(task.target)) : null
  // A thread no run of the tenant started is someone else's conversation (asked first: a busy
  // workspace sends every reply): only a mention there starts a run.
  if (task.replyOnly && threadRun === null) return c.json({ ignored: true, reason: 'a reply in a thread no run of this tenant started' }, 200)
  const guard = guardStub(c.env, 'slack-events')
  // Slack sends an event again when it thinks we missed it; a signed request captured and sent
  // again within the five minutes carries the same event id too.
  if (!(await guard.firstSighting(task.eventId, EVENT_TTL_MS))) {
    return c.json({ ignored: true, reason: 'an event seen before (a retry)' }, 200)
  }
  // A mention in a thread comes as two events when the app hears channel messages too: one turn.
  if (task.inThread && !(await guard.firstSighting(task.key, EVENT_TTL_MS))) {
    return c.json({ ignored: true, reason: 'a message seen before (in another event)' }, 200)
  }
  if (threadRun !== null) {
    const taken = await runStub(c.env, threadRun).continueThread(task.tenant, task.target, task.prompt, task.key)
    if ('continued' in taken) return c.json({ ignored: false, run: acceptedRun(taken.continued) }, 200)
    if (taken.refused === 'busy' || taken.refused === 'unsent') {
      // Not queued behind the turn: the run reports one turn at a time, and the person decides
      // whether it still applies. People talking in the thread meanwhile are not answered each.
      if (!task.replyOnly || taken.refused === 'unsent') {
        await sayInThread(c.env, task.target, `Not taken: ${taken.reason}.${taken.refused === 'busy' ? ' Send it again when the run is done.' : ''}`)
      }
      return c.json({ ignored: true, reason: taken.reason }, 200)
    }
  }
  // The thread's run is over (or forgotten): a fresh run takes the message, and the thread hears why it starts afresh.
  if (threadRun !== null) await sayInThread(c.env, task.target, 'The session of this thread has ended; a new run takes this message.')
  const started = await startInThread(c.env, c.req.url, task)
  if ('ignored' in started) return c.json({ ignored: true, reason: started.ignored }, 200)
  await threads.recordSlackThread(slackThreadKey(task.target), started.run.id)
  return c.json({ ignored: false, run: started.run }, 200)
})

/** A run for the message, answering in its thread; or, told there, why none started. */
async function startInThread(env: Bindings, requestUrl: string, task: SlackTask) {
  const onGitHub = task.repoUrl !== undefined && githubRepoOf(task.repoUrl, env.GITHUB_API_URL) !== undefined
  try {
    const run = await startRun(
      env,
      requestUrl,
      task.tenant,
      { prompt: task.prompt, ...(task.repoUrl && { repo: { url: task.repoUrl } }), ...(onGitHub && { output: { pullRequest: {} } }) },
      task.key,
      { kind: 'slack', target: task.target },
    )
    return { run }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    // Whoever asked is in the thread, not at this answer: they hear why nothing started.
    log('info', 'slack mention refused', { code: err.code, reason: err.message })
    await sayInThread(env, task.target, `No run started: ${err.message}`)
    return { ignored: err.message }
  }
}

slackWebhook.openAPIRegistry.registerPath({
  method: 'post',
  path: '/actions',
  summary: "Slack's interactive messages (the approval buttons)",
  description:
    "Slack's Interactivity request URL: `application/x-www-form-urlencoded` with a `payload` of JSON, verified as the Events API's deliveries are. A `block_actions` click on a run's Approve or Deny button answers the request that button was shown for, once (`once` or `reject`), when the user is an approver of the team (SLACK_APPROVERS) whose tenant owns the run and the click is in the run's own thread; the message then says who answered. Anything else is acknowledged and ignored, with the reason.",
  request: { body: { content: { 'application/x-www-form-urlencoded': { schema: z.object({ payload: z.string() }) } }, required: true } },
  responses: {
    200: json(
      z.object({
        ignored: z.boolean(),
        reason: z.string().optional(),
        answered: z.object({ runId: z.string(), permissionId: z.string(), reply: z.enum(['once', 'reject']) }).optional(),
      }),
      'Acknowledged',
    ),
    401: json(ErrorBody, 'A missing, wrong or stale signature'),
  },
})

slackWebhook.post('/actions', async (c) => {
  const raw = await verifiedSlackBody(c)
  const payload = new URLSearchParams(raw).get('payload')
  if (payload === null) throw new ApiError('validation_failed', 'form.payload: required', [{ path: 'form.payload', message: 'required', code: 'custom' }])
  const decided = slackActionDecision(parseJson(payload), slackRules(c.env))
  if ('ignored' in decided) return c.json({ ignored: true, reason: decided.ignored }, 200)
  const { runId, tenant, where, reply, user, messageTs } = decided.answer
  const answered = await runStub(c.env, runId).answerAsk(tenant, where, reply)
  if (!answered.ok) return c.json({ ignored: true, reason: answered.error.message }, 200)
  await settleAsk(c.env, where.channel, messageTs, runId, reply, user)
  return c.json({ ignored: false, answered: { runId, permissionId: answered.value.permissionId, reply } }, 200)
})
