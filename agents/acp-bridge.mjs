// @ts-check
/**
 * The ACP bridge: runs inside a sandbox beside (in place of) `opencode serve`. It starts an agent
 * that speaks the Agent Client Protocol on its stdin and stdout (claude-code-acp, codex-acp) and
 * carries that JSON-RPC over HTTP, the one way a Worker reaches a sandbox:
 *
 *   GET  /global/health   200 while the agent runs (the same probe opencode answers)
 *   GET  /acp             the agent's messages, one JSON per line, an empty line every 10 s;
 *                         one reader at a time (a new one replaces the last), and what the agent
 *                         said while nobody read is sent first; its `x-bridge-instance` header
 *                         names this bridge and agent, so that a reader coming back knows whether
 *                         the agent still holds the sessions it opened (an ACP agent loading a
 *                         session it holds runs it twice, and splits its updates between the two)
 *   POST /acp             one JSON-RPC message to the agent
 *
 * Basic auth `opencode:$OPENCODE_SERVER_PASSWORD` on every route, as opencode's. When the agent
 * exits the bridge exits with it, so the sandbox provider sees the agent gone and the session
 * restarts it (ACP `session/load` brings its conversation back). No dependencies: plain Node.
 *
 *   node acp-bridge.mjs <port> <command> [args...]
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { createInterface } from 'node:readline'

const [port, command, ...args] = process.argv.slice(2)
if (!port || !command) {
  process.stderr.write('usage: acp-bridge.mjs <port> <command> [args...]\n')
  process.exit(2)
}
const expected = `Basic ${Buffer.from(`opencode:${process.env.OPENCODE_SERVER_PASSWORD ?? ''}`).toString('base64')}`
/** What the agent said while no reader was connected; a reader that never comes must not grow it forever. */
const MAX_HELD = 10_000
const HEARTBEAT_MS = 10_000
const MAX_MESSAGE = 16 * 1024 * 1024
const instance = randomUUID()

// The bridge's own settings stay with it: the agent gets the sandbox's environment without them.
const env = { ...process.env }
delete env.OPENCODE_SERVER_PASSWORD
const agent = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env })
agent.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 9 : 1)))
agent.on('error', () => process.exit(127))

/** @type {import('node:http').ServerResponse | undefined} */
let reader
/** @type {string[]} */
const held = []

createInterface({ input: agent.stdout }).on('line', (line) => {
  if (!line.trim()) return
  if (reader && !reader.writableEnded) reader.write(`${line}\n`)
  else if (held.length < MAX_HELD) held.push(line)
})

setInterval(() => reader?.write('\n'), HEARTBEAT_MS).unref()

const server = createServer((req, res) => {
  if (req.headers.authorization !== expected) return void res.writeHead(401).end()
  const path = (req.url ?? '').split('?')[0]
  if (req.method === 'GET' && path === '/global/health') {
    return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"healthy":true}')
  }
  if (req.method === 'GET' && path === '/acp') {
    reader?.end()
    reader = res
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', 'x-bridge-instance': instance })
    // A first line at once: the reader knows the stream is open before it sends anything.
    res.write('\n')
    for (const line of held.splice(0)) res.write(`${line}\n`)
    res.on('close', () => {
      if (reader === res) reader = undefined
    })
    return
  }
  if (req.method === 'POST' && path === '/acp') {
    /** @type {Buffer[]} */
    const chunks = []
    let size = 0
    req.on('data', (/** @type {Buffer} */ c) => {
      size += c.length
      if (size > MAX_MESSAGE) req.destroy()
      else chunks.push(c)
    })
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').replace(/\n/g, ' ')
      agent.stdin.write(`${text}\n`)
      res.writeHead(204).end()
    })
    return
  }
  res.writeHead(404).end()
})
server.listen(Number(port), process.env.ACP_BRIDGE_HOST ?? '127.0.0.1')
for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT'])) {
  process.on(signal, () => {
    agent.kill(signal)
    process.exit(0)
  })
}
