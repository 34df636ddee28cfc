import { OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv } from '../env'
import { guardStub } from '../durable-objects'
import { githubRepoOf } from '../github/repo-url'
import { ApiError } from '../lib/errors'
import { log } from '../lib/log'
import { freshTimestamp, slackSignatureMatches } from '../runs/signing'
import { slackDecision, slackRules } from '../runs/slack'
import { sayInThread } from '../runs/slack-api'
import { json } from './openapi'
import { ErrorBody, RunAccepted } from '../contracts'
import { parseJson, startRun } from './runs'

/** Slack retries a delivery for up to hours; an event id is remembered for a day. */
const EVENT_TTL_MS = 24 * 60 * 60 * 1000

export const slackWebhook = new OpenAPIHono<AppEnv>()

// The signature covers the raw bytes, so the route reads and validates its body itself.
slackWebhook.openAPIRegistry.registerPath({
  method: 'post',
  path: '/',
  summary: "Slack's Events API",
  description:
    "Verified with SLACK_SIGNING_SECRET over `v0:<X-Slack-Request-Timestamp>:<raw body>` (`X-Slack-Signature: v0=<hex>`), the timestamp within five minutes. Answers Slack's `url_verification` with its challenge. An `app_mention` in a team of SLACK_TEAM_TENANTS starts a run for that tenant, on the https repository the message names or the channel's (SLACK_CHANNEL_REPOS), ending in a pull request on a repository granted to the tenant; the run keeps one progress message in the thread, edited in place, and replies there with the result and the pull request's link. One event starts one run, however often Slack retries it (`X-Slack-Retry-Num`). Anything else is acknowledged and ignored, with the reason.",
  request: { body: { ...json(z.record(z.string(), z.unknown()), 'A Slack Events API delivery'), required: true } },
  responses: {
    200: json(
      z.object({ challenge: z.string().optional(), ignored: z.boolean().optional(), reason: z.string().optional(), run: RunAccepted.optional() }),
      'Acknowledged',
    ),
    401: json(ErrorBody, 'A missing, wrong or stale signature'),
  },
})

slackWebhook.post('/', async (c) => {
  const secret = c.env.SLACK_SIGNING_SECRET
  if (!secret) throw new ApiError('unauthorized', 'this webhook is not configured')
  const timestamp = c.req.header('x-slack-request-timestamp')
  if (!freshTimestamp(timestamp)) throw new ApiError('unauthorized', 'X-Slack-Request-Timestamp is missing or older than five minutes')
  const raw = await c.req.text()
  if (!(await slackSignatureMatches(secret, timestamp!, raw, c.req.header('x-slack-signature')))) {
    throw new ApiError('unauthorized', 'bad or missing X-Slack-Signature')
  }
  const decided = slackDecision(parseJson(raw), slackRules(c.env))
  if ('challenge' in decided) return c.json({ challenge: decided.challenge }, 200)
  if ('ignored' in decided) return c.json({ ignored: true, reason: decided.ignored }, 200)
  const { task } = decided
  // Slack sends an event again when it thinks we missed it; a signed request captured and sent
  // again within the five minutes carries the same event id too.
  if (!(await guardStub(c.env, 'slack-events').firstSighting(task.eventId, EVENT_TTL_MS))) {
    return c.json({ ignored: true, reason: 'an event seen before (a retry)' }, 200)
  }
  const onGitHub = task.repoUrl !== undefined && githubRepoOf(task.repoUrl, c.env.GITHUB_API_URL) !== undefined
  try {
    const run = await startRun(
      c.env,
      c.req.url,
      task.tenant,
      { prompt: task.prompt, ...(task.repoUrl && { repo: { url: task.repoUrl } }), ...(onGitHub && { output: { pullRequest: {} } }) },
      task.key,
      { kind: 'slack', target: task.target },
    )
    return c.json({ ignored: false, run }, 200)
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    // Whoever asked is in the thread, not at this answer: they hear why nothing started.
    log('info', 'slack mention refused', { code: err.code, reason: err.message })
    await sayInThread(c.env, task.target, `No run started: ${err.message}`)
    return c.json({ ignored: true, reason: err.message }, 200)
  }
})
