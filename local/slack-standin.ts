import { createHash, createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for Slack on its wire protocol, on 127.0.0.1: the Web API methods the Worker calls
 * (`chat.postMessage`, `chat.update`: JSON with the bot token, answered 200 with `ok`), and the
 * signed Events API deliveries Slack sends (`signedDelivery`), for tests and for `npm run dev`
 * (which lists what was posted at `GET <url>/_messages`).
 */

/** `blocks`: the message's Block Kit layout as last posted or edited (buttons included). */
export type SlackMessage = { channel: string; ts: string; threadTs?: string; text: string; edits: string[]; blocks?: unknown[] }

export type SlackStandIn = {
  /** the Web API's base, SLACK_API_URL */
  url: string
  messages: SlackMessage[]
  close(): Promise<void>
}

export async function startSlackStandIn(opts: { token: string; port?: number }): Promise<SlackStandIn> {
  const messages: SlackMessage[] = []
  let clock = 1_700_000_000
  const nextTs = () => `${clock++}.000100`

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const answer = (body: Record<string, unknown>) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      // What the Worker posted, for a person trying the flow with `npm run dev`.
      if (req.method === 'GET' && req.url === '/api/_messages') return answer({ ok: true, messages })
      if (req.method !== 'POST') return void res.writeHead(405).end()
      if (req.headers.authorization !== `Bearer ${opts.token}`) return answer({ ok: false, error: 'invalid_auth' })
      let body: Record<string, unknown>
      try {
        body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>
      } catch {
        return answer({ ok: false, error: 'invalid_json' })
      }
      const channel = String(body.channel ?? '')
      if (!channel) return answer({ ok: false, error: 'channel_not_found' })
      const method = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/^\/api\//, '')
      if (method === 'chat.postMessage') {
        const message: SlackMessage = {
          channel,
          ts: nextTs(),
          text: String(body.text ?? ''),
          edits: [],
          ...(typeof body.thread_ts === 'string' && { threadTs: body.thread_ts }),
          ...(Array.isArray(body.blocks) && { blocks: body.blocks }),
        }
        messages.push(message)
        return answer({ ok: true, channel, ts: message.ts })
      }
      if (method === 'chat.update') {
        const message = messages.find((m) => m.channel === channel && m.ts === body.ts)
        if (!message) return answer({ ok: false, error: 'message_not_found' })
        message.edits.push(message.text)
        message.text = String(body.text ?? '')
        if (Array.isArray(body.blocks)) message.blocks = body.blocks
        return answer({ ok: true, channel, ts: message.ts })
      }
      return answer({ ok: false, error: 'unknown_method' })
    })
  })
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** The headers Slack signs a delivery with: `v0=` and the HMAC-SHA256 of `v0:<timestamp>:<body>` under the signing secret. */
export function signedDelivery(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`,
  }
}

/**
 * A click on a message's button as Slack delivers it to the Interactivity URL: a `block_actions`
 * payload, form-encoded, signed as events are. `user` clicked `value`'s button (`action_id`) on
 * `message` in `team`.
 */
export function signedAction(
  secret: string,
  click: { team: string; user: string; userTeam?: string; message: SlackMessage; actionId: string; value: string },
): { body: string; headers: Record<string, string> } {
  const { message } = click
  const payload = {
    type: 'block_actions',
    team: { id: click.team },
    user: { id: click.user, team_id: click.userTeam ?? click.team },
    channel: { id: message.channel },
    container: { type: 'message', channel_id: message.channel, message_ts: message.ts, ...(message.threadTs && { thread_ts: message.threadTs }) },
    message: { ts: message.ts, ...(message.threadTs && { thread_ts: message.threadTs }), text: message.text },
    actions: [{ type: 'button', action_id: click.actionId, value: click.value, block_id: 'opencode_ask' }],
    trigger_id: '1.2.3',
    response_url: 'https://hooks.slack.com/actions/T/1/x',
  }
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString()
  return { body, headers: { ...signedDelivery(secret, body), 'content-type': 'application/x-www-form-urlencoded' } }
}

/** The stand-in `npm run dev` starts when no Slack settings are given: its team, users and secret are for trying the flow offline. */
export const LOCAL_SLACK = {
  team: 'T0LOCAL',
  approver: 'U0LOCAL',
  signingSecret: 'local-slack-signing-secret',
  botToken: 'xoxb-local-standin',
  /** The Worker's Slack settings against the stand-in at `url`: its team belongs to `apiKey`'s tenant, its one user approves. */
  async settings(url: string, apiKey: string): Promise<Record<string, string>> {
    const tenant = `t_${createHash('sha256').update(apiKey).digest('hex').slice(0, 32)}`
    return {
      SLACK_SIGNING_SECRET: this.signingSecret,
      SLACK_BOT_TOKEN: this.botToken,
      SLACK_API_URL: url,
      SLACK_TEAM_TENANTS: JSON.stringify({ [this.team]: tenant }),
      SLACK_APPROVERS: JSON.stringify({ [this.team]: [this.approver] }),
    }
  },
}
