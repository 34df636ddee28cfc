import WebSocket from 'ws'
import { baseUrl, TEST_KEYS } from './stack'
import { waitFor } from './wait'

/** How a terminal's WebSocket opened: its socket, or the HTTP status and error body that refused it. */
export type TerminalOpening = { terminal: TerminalClient } | { status: number; body: Record<string, any> }

/** A client of a session's terminal, as a browser's would be: what it has read so far, and how it closed. */
export type TerminalClient = {
  /** every byte of output so far, as text */
  output(): string
  /** waits until the output (from `from` on) matches, and returns the match */
  until(pattern: RegExp, from?: number): Promise<RegExpMatchArray>
  /** text frames the server sent (`{"type":"exit"}`) */
  messages(): Record<string, any>[]
  type(text: string): void
  sendBytes(bytes: Buffer): void
  send(message: unknown): void
  closed(): Promise<{ code: number; reason: string }>
  close(): void
}

/**
 * Opens `GET /v1/sessions/:id/terminal` as a WebSocket: with a key as a bearer header (the
 * default, the first test key), a `?token=`, a Basic password, or nothing.
 */
export function openTerminal(
  id: string,
  auth: { key?: string; token?: string; basic?: string; none?: true } = {},
  query: Record<string, string> = {},
): Promise<TerminalOpening> {
  const params = new URLSearchParams({ ...query, ...(auth.token && { token: auth.token }) })
  const headers: Record<string, string> = {}
  if (auth.basic) headers.authorization = `Basic ${Buffer.from(`opencode:${auth.basic}`).toString('base64')}`
  else if (!auth.token && !auth.none) headers.authorization = `Bearer ${auth.key ?? TEST_KEYS[0]}`
  const url = `${baseUrl().replace(/^http/, 'ws')}/v1/sessions/${id}/terminal${params.size ? `?${params}` : ''}`
  const ws = new WebSocket(url, { headers })
  let text = ''
  const messages: Record<string, any>[] = []
  const decoder = new TextDecoder()
  ws.on('message', (data, isBinary) => {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[])
    if (isBinary) text += decoder.decode(bytes, { stream: true })
    else messages.push(JSON.parse(bytes.toString('utf8')) as Record<string, any>)
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  const terminal: TerminalClient = {
    output: () => text,
    until: (pattern, from = 0) =>
      waitFor(
        `terminal output matching ${pattern}`,
        () => {
          const match = text.slice(from).match(pattern)
          if (!match) throw new Error(`the output so far ends ${JSON.stringify(text.slice(-300))}; messages ${JSON.stringify(messages)}`)
          return match
        },
        30_000,
      ),
    messages: () => messages,
    type: (input) => ws.send(JSON.stringify({ type: 'input', data: input })),
    sendBytes: (bytes) => ws.send(bytes, { binary: true }),
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    closed: () => closed,
    close: () => ws.close(1000),
  }
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ terminal }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body ? (JSON.parse(body) as Record<string, any>) : {} }))
    })
    ws.once('error', reject)
  })
}

/** A terminal that must open. */
export async function terminalOf(id: string, auth: Parameters<typeof openTerminal>[1] = {}, query: Record<string, string> = {}): Promise<TerminalClient> {
  const opening = await openTerminal(id, auth, query)
  if (!('terminal' in opening)) throw new Error(`the terminal did not open: ${opening.status} ${JSON.stringify(opening.body)}`)
  return opening.terminal
}
