// @ts-check
/**
 * A sandbox's anchor: the first process of its network namespace, which keeps the namespace alive
 * and is its only door. Plain JavaScript because it runs as `node anchor.mjs` inside the namespace,
 * with no TypeScript loader there.
 *
 * - Inbound: the stand-in connects to `<runDir>/ingress.sock` and writes "<port>\n"; the anchor
 *   dials 127.0.0.1:<port> inside, answers "1" (connected) or "0" (nothing listens), then pipes.
 * - Outbound: for each allowed host port P it listens on 127.0.0.1:P (and [::1]:P) inside and
 *   pipes each connection to `<runDir>/egress-P.sock`, which the stand-in serves outside.
 *
 * Usage: node anchor.mjs <runDir> [port...]; prints "ready" once every socket listens and exits
 * when its stdin closes, so it never outlives the stand-in that started it.
 */
import { connect, createServer } from 'node:net'
import { join } from 'node:path'

const [runDir, ...ports] = process.argv.slice(2)
if (!runDir) throw new Error('usage: anchor.mjs <runDir> [port...]')

/** @param {import('node:net').Socket} a @param {import('node:net').Socket} b */
function pipeBoth(a, b) {
  a.on('error', () => b.destroy())
  b.on('error', () => a.destroy())
  a.pipe(b).pipe(a)
}

const ingress = createServer((client) => {
  /** @type {Buffer[]} */
  const head = []
  const onData = (/** @type {Buffer} */ chunk) => {
    head.push(chunk)
    const buffered = Buffer.concat(head)
    const newline = buffered.indexOf(10)
    if (newline < 0) return
    client.off('data', onData)
    client.pause()
    const port = Number(buffered.subarray(0, newline).toString())
    const rest = buffered.subarray(newline + 1)
    const upstream = connect(port, '127.0.0.1')
    upstream.once('error', () => {
      client.end('0')
    })
    upstream.once('connect', () => {
      upstream.removeAllListeners('error')
      client.write('1')
      if (rest.length) upstream.write(rest)
      pipeBoth(client, upstream)
      client.resume()
    })
  }
  client.on('data', onData)
  client.on('error', () => client.destroy())
})

/** @param {import('node:net').Server} server @param {object} where */
function listen(server, where) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(where, () => {
      server.off('error', reject)
      resolve(undefined)
    })
  })
}

/** @param {string} port */
const egressServer = (port) => createServer((inside) => pipeBoth(inside, connect(join(runDir, `egress-${port}.sock`))))

await listen(ingress, { path: join(runDir, 'ingress.sock') })
for (const port of ports) {
  await listen(egressServer(port), { host: '127.0.0.1', port: Number(port) })
  // Programs that resolve "localhost" to ::1 first must find the same door.
  await listen(egressServer(port), { host: '::1', port: Number(port) }).catch(() => undefined)
}
process.stdout.write('ready\n')
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
