import { createHmac } from 'node:crypto'
import WebSocket from 'ws'
import { expect } from 'vitest'
import { sendMessage } from './http'
import { scripted } from './scripted'
import { isReplyTo, type EventStream } from './sse'

/**
 * A dev server as an agent would start one in its sandbox: plain HTTP that says what it was
 * asked, and a WebSocket that echoes (hand-made, as a sandbox has no `ws` package), on a port of
 * the system's choosing, in the background so that the agent's command ends.
 */
const SERVER = String.raw`
const http = require('http'), crypto = require('crypto');
const server = http.createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end('preview-ok ' + req.method + ' ' + req.url + ' cookie=' + (req.headers.cookie || '') + ' auth=' + (req.headers.authorization || '')) });
server.on('upgrade', (req, socket) => {
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  socket.on('data', (buf) => {
    if ((buf[0] & 15) === 8) return socket.end();
    const len = buf[1] & 127, mask = buf.subarray(2, 6);
    const text = 'echo:' + Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4])).toString();
    socket.write(Buffer.concat([Buffer.from([0x81, Buffer.byteLength(text)]), Buffer.from(text)]));
  });
});
server.listen(0, () => require('fs').writeFileSync('preview-port.txt', String(server.address().port)));
`

/** Starts it, and says the port it listens on once it does. */
const START_PREVIEW_SERVER = [
  `cat > preview-server.js <<'EOF'\n${SERVER}\nEOF`,
  'rm -f preview-port.txt',
  'nohup node preview-server.js > /dev/null 2>&1 &',
  'for i in $(seq 100); do [ -s preview-port.txt ] && break; sleep 0.1; done',
  'echo "port $(cat preview-port.txt)"',
].join('\n')

/**
 * Has the agent start the server (its bash allowed) and answers its port, once `stream` has
 * announced that port open: the server's own, not whatever else of the sandbox opened one meanwhile.
 */
export async function startedServerPort(id: string, stream: EventStream, tag: string): Promise<number> {
  const steps = [{ tool: { name: 'bash', args: { command: START_PREVIEW_SERVER, description: 'start a dev server' } } }, { text: 'serving on {{tool_result}}' }]
  const messageId = await sendMessage(id, scripted({ steps }, tag))
  const reply = String((await stream.until(isReplyTo(messageId))).data.text)
  const port = Number(/port (\d+)/.exec(reply)?.[1])
  expect(port, reply).toBeGreaterThan(0)
  await stream.until((e) => e.event === 'sandbox.port' && e.data.state === 'open' && e.data.port === port)
  return port
}

/** A preview URL's token, signed again with `claims` changed under `key`: what a forger or a replay would send. */
export function resignedPreview(url: string, changes: Record<string, unknown>, key: string): string {
  const token = /\/preview\/([^/]+)\//.exec(url)?.[1]
  expect(token).toBeDefined()
  const claims = JSON.parse(Buffer.from(token!.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>
  const body = Buffer.from(JSON.stringify({ ...claims, ...changes })).toString('base64url')
  return url.replace(token!, `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`)
}

/** Opens a WebSocket to the preview, sends `text`, and resolves with the first answer. */
export function echoThrough(url: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'))
    const timer = setTimeout(() => reject(new Error('no echo within 20 s')), 20_000)
    socket.on('open', () => socket.send(text))
    socket.on('message', (data) => {
      clearTimeout(timer)
      resolve(String(data))
      socket.close()
    })
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}
