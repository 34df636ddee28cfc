import { createServer, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { CommandExitError, Sandbox } from 'e2b'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers'
import { portFetch, startFixture, WHO_SERVER, type StandInFixture } from '../helpers/standin'

/** Each sandbox's own port space, port traffic through the sandbox URL, and egress to allowed host ports only. */

let fx: StandInFixture
let allowed: Server
let forbidden: Server
const sandboxes: Sandbox[] = []

async function hostServer(answer: string): Promise<Server> {
  const server = createServer((_req, res) => res.end(answer))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}
const portOf = (server: Server) => (server.address() as AddressInfo).port

beforeAll(async () => {
  allowed = await hostServer('host model server')
  forbidden = await hostServer('host secret')
  fx = await startFixture({ egressPorts: [portOf(allowed)] })
  for (const who of ['alpha', 'beta']) {
    const sbx = await Sandbox.create('opencode', { ...fx.conn, timeoutMs: 300_000, envs: { WHO: who }, network: { allowPublicTraffic: false } })
    await sbx.commands.run(WHO_SERVER, { background: true, timeoutMs: 0 })
    sandboxes.push(sbx)
  }
  for (const sbx of sandboxes) {
    await waitFor('the servers inside', async () => (await portFetch(fx, sbx, 4096, '/')).ok)
  }
})

afterAll(async () => {
  await fx?.close()
  allowed?.close()
  forbidden?.close()
})

describe('port traffic', () => {
  it('reaches the right sandbox when two listen on the same port', async () => {
    const [alpha, beta] = sandboxes
    expect(await (await portFetch(fx, alpha!, 4096, '/')).text()).toBe('alpha')
    expect(await (await portFetch(fx, beta!, 4096, '/')).text()).toBe('beta')
  })

  it('refuses traffic without the traffic token, or with another sandbox’s, as E2B does (403)', async () => {
    const [alpha, beta] = sandboxes
    const missing = await portFetch(fx, alpha!, 4096, '/', { token: null })
    expect(missing.status).toBe(403)
    expect(await missing.json()).toMatchObject({ sandboxId: alpha!.sandboxId, code: 403 })
    const wrong = await portFetch(fx, alpha!, 4096, '/', { token: beta!.trafficAccessToken })
    expect(wrong.status).toBe(403)
  })

  it('answers 502 for a port nothing listens on, and 404 for an unknown sandbox', async () => {
    const closed = await portFetch(fx, sandboxes[0]!, 5999, '/')
    expect(closed.status).toBe(502)
    const unknown = await fetch(fx.standIn.sandboxUrl, { headers: { 'E2b-Sandbox-Id': 'inope', 'E2b-Sandbox-Port': '4096' } })
    expect(unknown.status).toBe(404)
  })

  it('streams a response as it is written, not when it ends', async () => {
    const sbx = sandboxes[0]!
    // An event stream that sends one event per request to /next and never ends on its own.
    const server = `node -e "
      let stream; let n = 0
      require('http').createServer((req, res) => {
        if (req.url === '/events') { stream = res; res.writeHead(200, { 'content-type': 'text/event-stream' }); res.write('data: ' + (++n) + '\\n\\n'); return }
        stream.write('data: ' + (++n) + '\\n\\n'); res.end('sent')
      }).listen(4100)"`
    await sbx.commands.run(server, { background: true, timeoutMs: 0 })
    const events = await waitFor('the event server', async () => {
      const res = await portFetch(fx, sbx, 4100, '/events')
      return res.ok ? res : undefined
    })
    expect(events.headers.get('content-type')).toBe('text/event-stream')
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader()
    expect((await reader.read()).value).toBe('data: 1\n\n')
    expect(await (await portFetch(fx, sbx, 4100, '/next')).text()).toBe('sent')
    expect((await reader.read()).value).toBe('data: 2\n\n')
    await reader.cancel()
  })

  it('carries an upgraded connection (WebSocket style) both ways', async () => {
    const sbx = sandboxes[1]!
    const echo = `node -e "
      const server = require('http').createServer((q, s) => s.end('plain'))
      server.on('upgrade', (req, socket) => { socket.write('HTTP/1.1 101 Switching Protocols\\r\\nupgrade: echo\\r\\nconnection: upgrade\\r\\n\\r\\n'); socket.pipe(socket) })
      server.listen(4200)"`
    await sbx.commands.run(echo, { background: true, timeoutMs: 0 })
    await waitFor('the echo server', async () => (await portFetch(fx, sbx, 4200, '/')).ok)
    const socket = connect(Number(new URL(fx.standIn.sandboxUrl).port), '127.0.0.1')
    const received: string[] = []
    socket.on('data', (d: Buffer) => received.push(d.toString()))
    socket.write(
      ['GET /ws HTTP/1.1', 'host: sandbox', 'connection: upgrade', 'upgrade: echo', `e2b-sandbox-id: ${sbx.sandboxId}`, 'e2b-sandbox-port: 4200', `e2b-traffic-access-token: ${sbx.trafficAccessToken}`, '', ''].join('\r\n'),
    )
    await waitFor('the 101', () => received.join('').includes('\r\n\r\n'))
    expect(received.join('')).toMatch(/^HTTP\/1.1 101/)
    received.length = 0
    socket.write('ping')
    await waitFor('the echo', () => received.join('') === 'ping')
    socket.destroy()
  })
})

describe('egress', () => {
  const fetchFromInside = (port: number) =>
    sandboxes[0]!.commands.run(`node -e "fetch('http://127.0.0.1:${port}/').then(r => r.text()).then(t => console.log(t))"`)

  it('reaches the host on an allowed port', async () => {
    expect((await fetchFromInside(portOf(allowed))).stdout).toBe('host model server\n')
  })

  it('does not reach the host on any other port', async () => {
    const err = await fetchFromInside(portOf(forbidden)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CommandExitError)
    expect((err as CommandExitError).stderr).toMatch(/ECONNREFUSED/)
  })

  it('has no network interface but loopback, so no other sandbox either', async () => {
    const r = await sandboxes[0]!.commands.run('ip -o addr show | grep -v " lo " | wc -l')
    expect(r.stdout.trim()).toBe('0')
  })
})
