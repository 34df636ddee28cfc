import { createServer } from 'node:net'

/**
 * Below Linux's default range for the local ports of outgoing connections (32768–60999): a port
 * the kernel hands out for listening is taken from that range, where any connection made before
 * the server binds it may take it first.
 */
const LISTEN_PORTS = { from: 20000, count: 12000 }

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = LISTEN_PORTS.from + Math.floor(Math.random() * LISTEN_PORTS.count)
    if (await portIsFree(port)) return port
  }
  return kernelPort()
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** Whether nothing listens on `port` of 127.0.0.1 now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}
