import { connect, createServer, type Server, type Socket } from 'node:net'

/** For fault tests: a TCP relay in front of a sandbox's opencode whose connections can be cut at will, as a network would. */
export type Relay = { server: Server; sockets: Set<Socket>; port: number }

/** A relay to `target` on 127.0.0.1. */
export async function startRelay(target: number): Promise<Relay> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, sockets, port: (server.address() as { port: number }).port }
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
