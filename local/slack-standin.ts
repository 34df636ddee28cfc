import { createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for Slack on its wire protocol, on 127.0.0.1: the Web API methods the Worker calls
 * (`chat.postMessage`, `chat.update`: JSON with the bot token, answered 200 with `ok`), and the
 * signed Events API deliveries Slack sends (`signedDelivery`), for tests and for `npm run dev`.
 */

export type SlackMessage = { channel: string; ts: string; threadTs?: string; text: string; edits: string[] }

export type SlackStandIn = {
  /** the Web API's base, SLACK_API_URL */
  url: string
  messages: SlackMessage[]
  close(): Promise<void>
}

export async function startSlackStandIn(opts: { token: string }): Promise<SlackStandIn> {
  const messages: SlackMessage[] = []
  let clock = 1_700_000_000
  const nextTs = () => `${clock++}.000100`

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const answer = (body: Record<string, unknown>) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
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
        const message: SlackMessage = { channel, ts: nextTs(), text: String(body.text ?? ''), edits: [], ...(typeof body.thread_ts === 'string' && { threadTs: body.thread_ts }) }
        messages.push(message)
        return answer({ ok: true, channel, ts: message.ts })
      }
      if (method === 'chat.update') {
        const message = messages.find((m) => m.channel === channel && m.ts === body.ts)
        if (!message) return answer({ ok: false, error: 'message_not_found' })
        message.edits.push(message.text)
        message.text = String(body.text ?? '')
        return answer({ ok: true, channel, ts: message.ts })
      }
      return answer({ ok: false, error: 'unknown_method' })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
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
