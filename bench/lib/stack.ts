import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Script } from '../../local/model-server'
import { startStack, type Stack, type StackOptions } from '../../local/stack'
import { isIdle, KEY, readEvents } from './sse'

export { KEY }
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }

/**
 * What must be stopped however the run ends: stacks, and opencode processes of our own.
 * Ctrl-C and SIGTERM run them too, so a run never leaves `wrangler dev` or sandboxes behind.
 */
const cleanups = new Set<() => Promise<void> | void>()

export function onCleanup(fn: () => Promise<void> | void): () => Promise<void> {
  cleanups.add(fn)
  return async () => {
    if (!cleanups.delete(fn)) return
    await fn()
  }
}

export async function cleanupAll() {
  const all = [...cleanups]
  cleanups.clear()
  await Promise.allSettled(all.map(async (fn) => fn()))
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping stacks`)
    void cleanupAll().finally(() => process.exit(130))
  })
}

export type BenchStack = Stack & {
  settings: Record<string, string>
  /** the temp folder holding the stack's state and its sandboxes' folders */
  dir: string
  dispose(): Promise<void>
}

/** The local stack with the scripted model, in temp folders; dispose() stops it and removes them. */
export async function benchStack(
  settings: Record<string, string> = {},
  onLog: (line: string) => void = () => {},
  opts: Pick<StackOptions, 'opencodeConfig'> = {},
): Promise<BenchStack> {
  const dir = mkdtempSync(join(tmpdir(), 'osw-bench-'))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  let stack: Stack
  try {
    stack = await startStack({
      settings: { API_KEYS: KEY, ...settings },
      stateDir: join(dir, 'state'),
      sandboxRoot: join(dir, 'sandboxes'),
      devVars: false,
      onLog,
      // The agents run as a deployment's do, and as the benchmark's own opencodes beside them.
      fullJit: true,
      ...opts,
    })
  } catch (err) {
    removeDir()
    throw err
  }
  const dispose = onCleanup(async () => {
    await stack.close()
    removeDir()
  })
  return Object.assign(stack, { settings, dir, dispose })
}

/**
 * The Worker behind wrangler dev's proxy, as local/wrangler-dev.ts wrote it at the last reload:
 * reading it there leaves out the proxy's hop, which only the local stack has.
 */
export function behindProxy(stack: BenchStack): { url: string; headers: Record<string, string> } {
  const { url, headers } = JSON.parse(readFileSync(join(stack.dir, 'state', 'direct.json'), 'utf8')) as { url: string; headers: Record<string, string> }
  return { url, headers }
}

/** One API call; throws on an error status. */
export async function call(stack: Stack, path: string, body?: unknown, method?: string): Promise<Record<string, any>> {
  const m = method ?? (body === undefined ? 'GET' : 'POST')
  const res = await fetch(`${stack.url}${path}`, { method: m, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (res.status >= 400) throw new Error(`${m} ${path} answered ${res.status}: ${text.slice(0, 300)}`)
  return text ? (JSON.parse(text) as Record<string, any>) : {}
}

export const script = (s: Script) => `bench <<script ${JSON.stringify(s)}>>`

/** Creates a session and waits for its first `session.status` idle; one that never gets there is ended. */
export async function idleSession(stack: Stack): Promise<string> {
  const { id } = await call(stack, '/v1/sessions', {})
  try {
    await readEvents(stack.url, id as string, { after: 0, done: isIdle, keep: () => false, timeoutMs: 180_000 })
  } catch (err) {
    await endSession(stack, id as string)
    throw err
  }
  return id as string
}

export async function endSession(stack: Stack, id: string) {
  await call(stack, `/v1/sessions/${id}`, undefined, 'DELETE').catch(() => {})
}

/** The id of the newest event of the session, to read from there on. */
export async function lastEventId(stack: Stack, id: string): Promise<number> {
  return (await call(stack, `/v1/sessions/${id}`)).lastEventId as number
}
