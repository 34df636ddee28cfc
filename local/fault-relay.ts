import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * For fault tests: a TCP relay in front of a sandbox's opencode whose connections can be cut at
 * will, as a network would, or made to hold what the Worker sends (`holding`): opencode then
 * never hears a request, while what it already streams (its event stream) still flows.
 */
export type Relay = {
  server: Server
  sockets: Set<Socket>
  port: number
  /** connections accepted in all, for tests that look for a reconnect */
  connections: number
  holding: boolean
  /** connections whose request was held: never forwarded, cut when the hold ends */
  held: Set<Socket>
}

/** A relay to `target` on 127.0.0.1. */
export async function startRelay(target: number): Promise<Relay> {
  const relay: Relay = { server: undefined as unknown as Server, sockets: new Set(), port: 0, connections: 0, holding: false, held: new Set() }
  relay.server = createServer((client) => {
    relay.connections++
    const upstream = connect(target, '127.0.0.1')
    for (const s of [client, upstream]) {
      relay.sockets.add(s)
      s.on('close', () => {
        relay.sockets.delete(s)
        relay.held.delete(s)
      })
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (chunk: Buffer) => {
      // A request held once is never forwarded, not even its end: it must not run late.
      if (relay.holding || relay.held.has(client)) relay.held.add(client)
      else if (!upstream.write(chunk)) {
        client.pause()
        upstream.once('drain', () => client.resume())
      }
    })
    client.on('end', () => upstream.end())
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve))
  relay.port = (relay.server.address() as { port: number }).port
  return relay
}

export function stopRelay(relay: Relay | undefined) {
  if (!relay) return
  for (const s of relay.sockets) s.destroy()
  relay.server.close()
}

/** Severs every connection through the relay; how many there were. */
export function cutRelay(relay: Relay): number {
  const cut = relay.sockets.size
  for (const s of relay.sockets) s.destroy()
  return cut
}

/** Holds what the Worker sends from now on, or ends the hold, cutting the connections it held (their requests never reached opencode). */
export function holdRelay(relay: Relay, on: boolean): number {
  relay.holding = on
  if (on) return 0
  const held = relay.held.size
  for (const s of relay.held) s.destroy()
  relay.held.clear()
  return held
}
