import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStack, type Stack } from '../../local/stack'
import { sleep } from './stats'

export const KEY = 'bench-key'
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }

export type BenchStack = Stack & { dispose(): Promise<void> }

/** The local stack with the scripted model, in temp folders; dispose() stops it and cleans up. */
export async function benchStack(settings: Record<string, string> = {}): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'osw-bench-'))
  const stack = await startStack({
    settings: { API_KEYS: KEY, ...settings },
    stateDir: join(dir, 'state'),
    sandboxRoot: join(dir, 'sandboxes'),
    devVars: false,
    onLog: () => {},
  })
  return Object.assign(stack, {
    dispose: async () => {
      await stack.close()
      rmSync(dir, { recursive: true, force: true })
    },
  })
}

export async function call(stack: Stack, path: string, body?: unknown, method?: string) {
  const res = await fetch(`${stack.url}${path}`, {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return (await res.json()) as Record<string, any>
}

export async function idleSession(stack: Stack): Promise<string> {
  const { id } = await call(stack, '/v1/sessions', {})
  for (;;) {
    const s = await call(stack, `/v1/sessions/${id}`)
    if (s.status === 'idle') return id as string
    if (s.status === 'failed') throw new Error(`session failed: ${JSON.stringify(s.error)}`)
    await sleep(50)
  }
}

export const script = (s: object) => `bench <<script ${JSON.stringify(s)}>>`

export type Arrival = { id: number; event: string; data: Record<string, any>; at: number }

/**
 * Reads a session's SSE stream, noting when each event arrived, until `done` says so. Parsing
 * is kept to the lines that matter, so the reader costs as little as it can.
 */
export async function readEvents(
  stack: Stack,
  sessionId: string,
  opts: { after?: number; done: (e: Arrival) => boolean; parse?: (e: Arrival) => boolean },
): Promise<Arrival[]> {
  const res = await fetch(`${stack.url}/v1/sessions/${sessionId}/events?after=${opts.after ?? 0}`, { headers })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const out: Arrival[] = []
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    const at = performance.timeOrigin + performance.now()
    buffer += decoder.decode(value, { stream: true })
    let cut: number
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      const id = /^id: (\d+)$/m.exec(frame)
      if (!id) continue
      const e: Arrival = {
        id: Number(id[1]),
        event: /^event: (.+)$/m.exec(frame)![1]!,
        data: JSON.parse(/^data: (.*)$/m.exec(frame)![1]!),
        at,
      }
      out.push(e)
      if (opts.done(e)) {
        await reader.cancel()
        return out
      }
    }
  }
  return out
}
