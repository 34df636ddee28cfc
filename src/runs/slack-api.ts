import type { RunView, SlackTarget } from '../contracts'
import type { Bindings } from '../env'
import { errorMessage, log } from '../lib/log'
import { slackAnsweredText, slackAskMessage, slackProgressText, slackResultText } from './slack'

const DEFAULT_SLACK_API_URL = 'https://slack.com/api'

type SlackAnswer = { ok: boolean; ts?: string; error?: string }

/** One Web API method, as Slack takes it: JSON with the bot token; Slack answers 200 with `ok` false when it refuses. */
async function slackCall(env: Bindings, method: string, body: Record<string, unknown>): Promise<SlackAnswer | 'unreachable'> {
  if (!env.SLACK_BOT_TOKEN) return { ok: false, error: 'SLACK_BOT_TOKEN is not set' }
  try {
    const res = await fetch(`${(env.SLACK_API_URL || DEFAULT_SLACK_API_URL).replace(/\/+$/, '')}/${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.SLACK_BOT_TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
    if (!res.ok) {
      await res.body?.cancel()
      return { ok: false, error: `HTTP ${res.status}` }
    }
    return (await res.json()) as SlackAnswer
  } catch (err) {
    log('warn', 'slack unreachable', { method, err: errorMessage(err) })
    return 'unreachable'
  }
}

/** A word in the thread that is no run's: why a mention started none. */
export async function sayInThread(env: Bindings, target: SlackTarget, text: string): Promise<void> {
  await slackCall(env, 'chat.postMessage', { channel: target.channel, thread_ts: target.threadTs, text })
}

/** The run's progress message, posted in the thread when it starts; its ts, to edit it later. */
export async function postProgress(env: Bindings, target: SlackTarget, runId: string): Promise<string | undefined> {
  const posted = await slackCall(env, 'chat.postMessage', { channel: target.channel, thread_ts: target.threadTs, text: slackProgressText(runId, 'running') })
  return posted !== 'unreachable' && posted.ok ? posted.ts : undefined
}

/** The run's progress message, edited in place as it goes (a new turn of the thread). */
export async function editProgress(env: Bindings, target: SlackTarget, progressTs: string, runId: string, status: string, note: string): Promise<void> {
  await slackCall(env, 'chat.update', { channel: target.channel, ts: progressTs, text: slackProgressText(runId, status, note) })
}

/** The agent's request in the thread, with its buttons; whether Slack took it. */
export async function postAsk(env: Bindings, target: SlackTarget, runId: string, ask: { permissionId: string; permission: string; patterns: string[] }): Promise<boolean> {
  const posted = await slackCall(env, 'chat.postMessage', { channel: target.channel, thread_ts: target.threadTs, ...slackAskMessage(runId, ask) })
  return posted !== 'unreachable' && posted.ok
}

/** The request's message, once answered, says how and by whom; its buttons go, so nobody clicks a spent one. */
export async function settleAsk(env: Bindings, channel: string, messageTs: string, runId: string, reply: 'once' | 'reject', user: string): Promise<void> {
  await slackCall(env, 'chat.update', { channel, ts: messageTs, text: slackAnsweredText(runId, reply, user), blocks: [] })
}

/**
 * The run ended: its progress message edited in place to say how, and the result a reply in the
 * thread with the pull request's link. As a delivery attempt: a status, or why there was none.
 */
export async function reportToSlack(env: Bindings, target: SlackTarget, progressTs: string | null, run: RunView): Promise<{ status: number } | 'unreachable'> {
  if (progressTs !== null) {
    const edited = await slackCall(env, 'chat.update', { channel: target.channel, ts: progressTs, text: slackProgressText(run.id, run.status, 'Done; the result is below.') })
    if (edited === 'unreachable') return edited
  }
  const replied = await slackCall(env, 'chat.postMessage', { channel: target.channel, thread_ts: target.threadTs, text: slackResultText(run) })
  if (replied === 'unreachable') return replied
  return { status: replied.ok ? 200 : 502 }
}
