import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ConnectError, openStream, readMessage, requestTimeoutMs, type MessageStream } from './connect'
import type { ProcessConfig, PtySize, SandboxProcess } from './processes'
import type { Sandbox, Sandboxes } from './sandboxes'
import { writePty } from '../sandbox-terminals'

/** envd's Process service: Start and Connect stream a process's events; the rest are unary. */

type Selector = { process?: { pid?: number; tag?: string } }

function select(sb: Sandbox, msg: Selector): SandboxProcess {
  const proc = sb.processes.find(msg.process ?? {})
  if (!proc) throw new ConnectError('not_found', `process with ${msg.process?.pid !== undefined ? `pid ${msg.process.pid}` : `tag ${msg.process?.tag}`} not found`)
  return proc
}

/**
 * Relays a process's events to a stream until the process ends, the client leaves, or the
 * client's deadline passes. Keepalives at the client's `Keepalive-Ping-Interval` keep quiet
 * streams from being cut by idle timeouts on the way.
 */
function relay(sb: Sandbox, proc: SandboxProcess, stream: MessageStream, req: IncomingMessage, res: ServerResponse) {
  sb.openStreams = (sb.openStreams ?? 0) + 1
  let open = true
  const keepaliveS = Number(req.headers['keepalive-ping-interval'])
  const deadlineMs = requestTimeoutMs(req)
  const onEvent = (event: unknown) => stream.send({ event })
  const onEnd = () => {
    cleanup()
    stream.end()
  }
  const keepalive = keepaliveS > 0 ? setInterval(() => stream.send({ event: { keepalive: {} } }), keepaliveS * 1000) : undefined
  const deadline = deadlineMs
    ? setTimeout(() => {
        cleanup()
        stream.end(new ConnectError('deadline_exceeded', 'context deadline exceeded'))
      }, deadlineMs)
    : undefined
  const cleanup = () => {
    if (open) sb.openStreams = (sb.openStreams ?? 1) - 1
    open = false
    clearInterval(keepalive)
    clearTimeout(deadline)
    proc.off('event', onEvent)
    proc.off('end', onEnd)
  }
  proc.on('event', onEvent)
  proc.once('end', onEnd)
  // The process goes on when the client leaves, as under envd.
  res.once('close', cleanup)
}

type StartRequest = { process: ProcessConfig; stdin?: boolean; tag?: string; pty?: { size?: Partial<PtySize> } }

async function start(sandboxes: Sandboxes, sb: Sandbox, req: IncomingMessage, res: ServerResponse) {
  const msg = await readMessage<StartRequest>(req)
  const pty = msg.pty ? ptySize(msg.pty.size) : undefined
  if (!msg.process?.cmd) throw new ConnectError('invalid_argument', 'process.cmd is required')
  if (sb.refusedStarts) {
    sb.refusedStarts--
    throw new ConnectError('internal', 'the process could not be started')
  }
  const cwd = sandboxes.insidePath(sb, msg.process.cwd)
  if (!(await stat(sandboxes.resolvePath(sb, cwd)).catch(() => undefined))?.isDirectory()) throw new ConnectError('invalid_argument', `cwd '${cwd}' does not exist`)
  const proc = await sb.processes.start({
    config: sandboxes.templateCommand(msg.process),
    cwd,
    env: sandboxes.processEnv(sb, msg.process.envs),
    tag: msg.tag,
    // envd opens stdin unless told not to, for older clients.
    stdin: msg.stdin ?? true,
    pty,
    netns: `/proc/${sb.ns.pid}/ns/net`,
    mountns: sb.ns.mountns,
    timeoutMs: requestTimeoutMs(req),
  })
  const stream = openStream(res)
  stream.send({ event: { start: { pid: proc.pid } } })
  relay(sb, proc, stream, req, res)
}

/** envd's PTY size: both parts, each at least 1. */
function ptySize(size: Partial<PtySize> | undefined): PtySize {
  const cols = Number(size?.cols)
  const rows = Number(size?.rows)
  if (!(Number.isInteger(cols) && cols > 0 && Number.isInteger(rows) && rows > 0)) throw new ConnectError('invalid_argument', 'pty.size needs cols and rows')
  return { cols, rows }
}

async function connect(sb: Sandbox, req: IncomingMessage, res: ServerResponse) {
  const proc = select(sb, await readMessage<Selector>(req))
  const stream = openStream(res)
  stream.send({ event: { start: { pid: proc.pid } } })
  relay(sb, proc, stream, req, res)
}

/** `signal` arrives as the enum's name (protobuf JSON) or, from other clients, its number. */
const SIGNALS: Record<string, NodeJS.Signals> = { SIGNAL_SIGKILL: 'SIGKILL', SIGNAL_SIGTERM: 'SIGTERM', '9': 'SIGKILL', '15': 'SIGTERM' }

async function unary(sb: Sandbox, method: string, req: IncomingMessage): Promise<unknown> {
  switch (method) {
    case 'List':
      await readMessage(req)
      return {
        processes: sb.processes.list().map((p) => ({ config: p.config, pid: p.pid, ...(p.tag !== undefined && { tag: p.tag }) })),
      }
    case 'SendSignal': {
      const msg = await readMessage<Selector & { signal?: string | number }>(req)
      const signal = SIGNALS[String(msg.signal)]
      if (!signal) throw new ConnectError('invalid_argument', `unsupported signal ${msg.signal}`)
      select(sb, msg).signal(signal)
      return {}
    }
    case 'SendInput': {
      const msg = await readMessage<Selector & { input?: { stdin?: string; pty?: string } }>(req)
      const proc = select(sb, msg)
      if (msg.input?.pty !== undefined) {
        if (!proc.pty) throw new ConnectError('failed_precondition', 'the process has no PTY')
        writePty(proc.pty, Buffer.from(msg.input.pty, 'base64'))
        return {}
      }
      if (!proc.stdin || proc.stdin.writableEnded) throw new ConnectError('failed_precondition', 'stdin not enabled or closed')
      proc.stdin.write(Buffer.from(msg.input?.stdin ?? '', 'base64'))
      return {}
    }
    case 'Update': {
      const msg = await readMessage<Selector & { pty?: { size?: Partial<PtySize> } }>(req)
      const proc = select(sb, msg)
      if (!proc.pty) throw new ConnectError('failed_precondition', 'the process has no PTY')
      if (msg.pty) {
        const size = ptySize(msg.pty.size)
        proc.pty.resize(size.cols, size.rows)
      }
      return {}
    }
    case 'CloseStdin': {
      select(sb, await readMessage<Selector>(req)).stdin?.end()
      return {}
    }
    default:
      throw new ConnectError('unimplemented', `process.Process/${method} is not served by the stand-in`)
  }
}

export const processService = { start, connect, unary }
