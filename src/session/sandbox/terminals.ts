import { MAX_TERMINAL_INPUT_BYTES, TERMINAL_CLOSE, TerminalClientMessage, type TerminalClose, type TerminalServerMessage } from '../../contracts'
import { fail, ok, type Outcome } from '../../lib/errors'
import { errorMessage } from '../../lib/log'
import type { SandboxProvider, SandboxTerminal, TerminalSize } from '../../sandbox/provider'
import type { SandboxRecord } from '../../sandbox/record'

/** Terminals one session holds open at once: each is a connection to its sandbox, of the few an object may hold. */
export const MAX_TERMINALS = 3
/** Input waiting for the sandbox to take it past which the terminal closes: a client may not queue without bound. */
export const MAX_PENDING_INPUT_BYTES = 1024 * 1024
/** Output frames are cut to this size. */
const MAX_OUTPUT_FRAME_BYTES = 64 * 1024
/** Typing moves the idle deadline at most this often: each move is a write and an alarm. */
const TOUCH_EVERY_MS = 5_000

type Open = { socket: WebSocket; terminal?: SandboxTerminal; pending: number; writes: Promise<void> }

type Parts = {
  provider: SandboxProvider
  /**
   * Makes a client's socket the object's own (`ctx.acceptWebSocket`, Cloudflare's recommended way
   * for an object's sockets): its frames come through the object's WebSocket handlers, which hand
   * them to message() and closed().
   */
  accept(socket: WebSocket): void
  /** the person at the terminal is active: the idle deadline moves (never an event in the log) */
  touch(): void
}

/**
 * The session's terminals: each a WebSocket to its client, relayed to a shell on a
 * pseudo-terminal in the sandbox (the provider's). Their traffic moves the idle deadline and
 * never reaches the event log; they close when the sandbox pauses or goes, or the session ends.
 */
export class Terminals {
  private readonly open = new Map<WebSocket, Open>()
  private lastTouch = 0

  constructor(private readonly p: Parts) {}

  get size(): number {
    return this.open.size
  }

  /** A new terminal on `record`'s sandbox, in its workspace: the response that hands the client its socket. */
  async connect(record: SandboxRecord, size: TerminalSize): Promise<Outcome<Response>> {
    if (this.open.size >= MAX_TERMINALS) return fail('too_many_requests', `this session already has ${MAX_TERMINALS} terminals open; close one first`)
    const [client, socket] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket]
    const entry: Open = { socket, pending: 0, writes: Promise.resolve() }
    // Accepted first: the shell's prompt may come before the sandbox's answer does.
    this.p.accept(socket)
    // Counted before the sandbox answers, so that terminals opened together keep to the cap.
    this.open.set(socket, entry)
    try {
      entry.terminal = await this.p.provider.openTerminal(record.sandboxId, { cwd: record.workdir, size }, {
        output: (bytes) => sendOutput(socket, bytes),
        exit: (exitCode) => {
          if (this.open.get(socket) !== entry) return
          const said: TerminalServerMessage = { type: 'exit', exitCode }
          socket.send(JSON.stringify(said))
          this.drop(entry, 'exited')
        },
      })
    } catch (err) {
      this.open.delete(socket)
      return fail('sandbox_unavailable', `the terminal could not be opened: ${errorMessage(err)}`)
    }
    this.active()
    return ok(new Response(null, { status: 101, webSocket: client }))
  }

  /** Every terminal closes, its socket told why. */
  closeAll(why: TerminalClose) {
    for (const entry of [...this.open.values()]) this.drop(entry, why)
  }

  /** A frame from a client (the object's webSocketMessage); a socket this object no longer knows (it restarted since) is closed. */
  message(socket: WebSocket, data: string | ArrayBuffer) {
    const entry = this.open.get(socket)
    if (!entry) return closeSocket(socket, 'failed')
    const input = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data)
    if (input.byteLength > MAX_TERMINAL_INPUT_BYTES) return this.drop(entry, 'tooLarge')
    this.active()
    if (typeof data !== 'string') return this.write(entry, input)
    let parsed: ReturnType<typeof TerminalClientMessage.safeParse>
    try {
      parsed = TerminalClientMessage.safeParse(JSON.parse(data))
    } catch {
      return this.drop(entry, 'invalid')
    }
    if (!parsed.success) return this.drop(entry, 'invalid')
    const message = parsed.data
    if (message.type === 'input') return this.write(entry, new TextEncoder().encode(message.data))
    const { cols, rows } = message
    this.then(entry, 0, (terminal) => terminal.resize({ cols, rows }))
  }

  /** The client left (the object's webSocketClose and webSocketError): its shell ends. */
  closed(socket: WebSocket) {
    const entry = this.open.get(socket)
    if (entry) this.drop(entry, 'exited')
  }

  private write(entry: Open, bytes: Uint8Array) {
    if (entry.pending + bytes.byteLength > MAX_PENDING_INPUT_BYTES) return this.drop(entry, 'tooLarge')
    this.then(entry, bytes.byteLength, (terminal) => terminal.write(bytes))
  }

  /** In the order the client sent them: a write to E2B is a call of its own, and calls may overtake each other. */
  private then(entry: Open, bytes: number, work: (terminal: SandboxTerminal) => Promise<void>) {
    entry.pending += bytes
    entry.writes = entry.writes
      .then(() => (entry.terminal && this.open.get(entry.socket) === entry ? work(entry.terminal) : undefined))
      .catch(() => this.drop(entry, 'failed'))
      .finally(() => {
        entry.pending -= bytes
      })
  }

  private active() {
    const now = Date.now()
    if (now - this.lastTouch < TOUCH_EVERY_MS) return
    this.lastTouch = now
    this.p.touch()
  }

  /** Forgets a terminal and ends its shell; with `why`, closes its socket saying so. */
  /** Forgets a terminal, ends its shell and closes its socket saying why. */
  private drop(entry: Open, why: TerminalClose) {
    if (this.open.get(entry.socket) !== entry) return
    this.open.delete(entry.socket)
    void entry.terminal?.close().catch(() => undefined)
    closeSocket(entry.socket, why)
  }
}

function closeSocket(socket: WebSocket, why: TerminalClose) {
  const { code, reason } = TERMINAL_CLOSE[why]
  try {
    socket.close(code, reason)
  } catch {
    // closed already
  }
}

function sendOutput(socket: WebSocket, bytes: Uint8Array) {
  for (let at = 0; at < bytes.byteLength; at += MAX_OUTPUT_FRAME_BYTES) socket.send(bytes.subarray(at, at + MAX_OUTPUT_FRAME_BYTES))
}
