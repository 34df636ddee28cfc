import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { spawn, type IPty } from '@lydell/node-pty'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'

/**
 * The local sandbox host's terminals: a shell on a pseudo-terminal per WebSocket
 * (`GET /sandboxes/:id/terminal?cwd=&cols=&rows=`, upgraded). Binary frames carry the terminal's
 * bytes both ways; a text frame from the Worker is a resize (`{"cols","rows"}`), one to it the
 * shell's end (`{"exit":code}`), after which the socket closes.
 */

/** Output sent and not yet written to the socket past which the shell is paused until it drains: a flood stays bounded. */
const MAX_UNSENT_BYTES = 1024 * 1024
const MAX_SIZE = 1000

export type TerminalSpawn = { cwd: string; env: Record<string, string>; cols: number; rows: number }

/** One sandbox's terminals, so that its pause, resume and end reach their shells too. */
export class SandboxTerminals {
  private readonly open = new Set<IPty>()

  constructor(
    /** told each shell's pid as it starts and as it ends, for the host's record of its processes */
    private readonly started: (pid: number) => void,
    private readonly ended: (pid: number) => void,
  ) {}

  /** Signals every shell's process group (node-pty makes each shell lead its own session). */
  signal(signal: NodeJS.Signals) {
    for (const pty of this.open) {
      try {
        process.kill(-pty.pid, signal)
      } catch {
        // gone already
      }
    }
  }

  closeAll() {
    this.signal('SIGCONT')
    this.signal('SIGKILL')
  }

  serve(ws: WebSocket, opts: TerminalSpawn) {
    const pty = spawn('bash', ['-i'], { name: 'xterm-256color', cwd: opts.cwd, env: opts.env, cols: opts.cols, rows: opts.rows, encoding: null })
    this.open.add(pty)
    this.started(pty.pid)
    let unsent = 0
    let paused = false
    pty.onData((chunk) => {
      const bytes = ptyBytes(chunk)
      unsent += bytes.length
      if (unsent > MAX_UNSENT_BYTES && !paused) {
        paused = true
        pty.pause()
      }
      ws.send(bytes, () => {
        unsent -= bytes.length
        if (paused && unsent <= MAX_UNSENT_BYTES / 2) {
          paused = false
          pty.resume()
        }
      })
    })
    pty.onExit(({ exitCode }) => {
      this.open.delete(pty)
      this.ended(pty.pid)
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify({ exit: exitCode }))
        ws.close(1000, 'exited')
      }
    })
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
      if (isBinary) return writePty(pty, bytes)
      const size = parseSize(bytes.toString('utf8'))
      if (size) pty.resize(size.cols, size.rows)
    })
    ws.on('close', () => {
      if (!this.open.has(pty)) return
      try {
        process.kill(-pty.pid, 'SIGKILL')
      } catch {
        pty.kill('SIGKILL')
      }
    })
  }
}

/** Bytes to a pseudo-terminal: node-pty's socket takes them as they are, though its type names strings only. */
export function writePty(pty: IPty, bytes: Buffer) {
  pty.write(bytes as unknown as string)
}

/** Output of a pseudo-terminal spawned with `encoding: null`: bytes, though node-pty's type names strings only. */
export function ptyBytes(chunk: string): Buffer {
  return chunk as unknown as Buffer
}

function parseSize(text: string): { cols: number; rows: number } | undefined {
  try {
    const { cols, rows } = JSON.parse(text) as { cols?: unknown; rows?: unknown }
    return terminalSize(cols, rows)
  } catch {
    return undefined
  }
}

/** A size within bounds, or nothing. */
export function terminalSize(cols: unknown, rows: unknown): { cols: number; rows: number } | undefined {
  const ok = (n: unknown) => Number.isInteger(n) && (n as number) > 0 && (n as number) <= MAX_SIZE
  return ok(cols) && ok(rows) ? { cols: cols as number, rows: rows as number } : undefined
}

export type TerminalRequest = (req: IncomingMessage) => { status: number; message: string } | { terminals: SandboxTerminals; spawn: TerminalSpawn }

/** Answers upgrades to terminal routes on `server`; anything else that asks to upgrade is refused. */
export function acceptTerminals(server: { on(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown }, decide: TerminalRequest) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 })
  server.on('upgrade', (req, socket, head) => {
    const decided = decide(req)
    if ('status' in decided) {
      const body = JSON.stringify({ error: { code: decided.status === 404 ? 'not_found' : 'failed', message: decided.message } })
      socket.end(`HTTP/1.1 ${decided.status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => decided.terminals.serve(ws, decided.spawn))
  })
}
