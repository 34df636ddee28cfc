import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { outlastWorkerdKeepAlive } from '../../local/keep-alive'

export type Received = { path: string; headers: IncomingMessage['headers']; body: string }

export type Receiver = { url: string; received: Received[]; close(): Promise<void> }

/**
 * A local HTTP receiver for what the service sends out: run callbacks, and a stand-in for
 * GitHub's comment API. `answer` decides the status of each request, by its number (0-based).
 */
export async function startReceiver(answer: (n: number, req: Received) => number = () => 201): Promise<Receiver> {
  const received: Received[] = []
  const server: Server = outlastWorkerdKeepAlive(createServer((req, res) => {
    // What arrived so far, for tests in another process than the receiver.
    if (req.method === 'GET' && req.url === '/_received') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received))
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const entry = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      const status = answer(received.length, entry)
      received.push(entry)
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}')
    })
  }))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
