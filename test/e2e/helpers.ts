import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import type { Script } from '../../local/model-server'

/** The third and fourth are the usage tests' alone (test/e2e/usage*.test.ts), so that they can count their tenants' usage exactly. */
export const TEST_KEYS = ['test-key-alpha', 'test-key-beta', 'test-key-gamma', 'test-key-delta'] as const
export const CANARY_PROVIDER_KEY = 'sk-canary-provider-key-0123456789'
export const WEBHOOK_SECRET = 'whsec-test-secret'
export const CALLBACK_SECRET = 'cbsec-test-secret'
/** Low, so that a test reaches it with few runs; each test uses a repository of its own. */
export const GITHUB_MAX_RUNS_PER_HOUR = 2
export const GITHUB_WEBHOOK_SECRET = 'gh-hook-test-secret'

type Target = { workerUrl: string; sandboxHostUrl: string; sandboxHostToken: string }
let target: Target | undefined

/** Points the helpers at a stack a test file started itself, instead of the shared one. */
export function useStack(t: Target) {
  target = t
}

const current = (): Target =>
  target ?? { workerUrl: inject('workerUrl'), sandboxHostUrl: inject('sandboxHostUrl'), sandboxHostToken: inject('sandboxHostToken') }

export const baseUrl = () => current().workerUrl

export type Json = Record<string, any>

export async function api(
  path: string,
  init: { method?: string; body?: unknown; key?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? TEST_KEYS[0]}`
  let body: string | undefined
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body)
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(`${baseUrl()}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body })
  const text = await res.text()
  try {
    return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} }
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${path} answered ${res.status} with something that is not JSON: ${text.slice(0, 300)}`)
  }
}

/** A user message that makes the scripted model follow `script`. */
export function scripted(script: Script, prefix = 'scripted turn'): string {
  return `${prefix} <<script ${JSON.stringify(script)}>>`
}

/** A script step: the agent asks the client one question, Red or Blue. */
export const COLOUR_QUESTION = {
  tool: {
    name: 'question',
    args: {
      questions: [
        {
          question: 'Which colour should the button be?',
          header: 'Colour',
          options: [
            { label: 'Red', description: 'warm' },
            { label: 'Blue', description: 'cool' },
          ],
        },
      ],
    },
  },
}

export async function createSession(body: Json = {}, key?: string): Promise<string> {
  const res = await api('/v1/sessions', { method: 'POST', body, key })
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.id as string
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 150))
  }
}

export async function waitForStatus(id: string, status: string, key?: string): Promise<Json> {
  return waitFor(`session ${id} to be ${status}`, async () => {
    const res = await api(`/v1/sessions/${id}`, { key })
    if (res.body.status === 'failed' && status !== 'failed') {
      throw new Error(`session failed: ${JSON.stringify(res.body.error)}`)
    }
    return res.body.status === status ? res.body : undefined
  })
}

export type SseEvent = { id?: number; event: string; data: Json }

/**
 * A test's SSE client: reads frames as they arrive and keeps them, so a test can wait for
 * the event it needs and then look at everything that came before it.
 */
export class EventStream {
  readonly events: SseEvent[] = []
  readonly comments: string[] = []
  private readonly controller = new AbortController()
  private waiters: (() => void)[] = []
  private done: Promise<void>
  ended = false

  constructor(
    readonly sessionId: string,
    opts: { after?: number; lastEventId?: number; raw?: boolean; key?: string } = {},
  ) {
    const query = new URLSearchParams()
    if (opts.after !== undefined) query.set('after', String(opts.after))
    if (opts.raw) query.set('raw', '1')
    const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? TEST_KEYS[0]}` }
    if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId)
    this.done = this.read(`${baseUrl()}/v1/sessions/${sessionId}/events?${query}`, headers)
  }

  private async read(url: string, headers: Record<string, string>) {
    try {
      const res = await fetch(url, { headers, signal: this.controller.signal })
      if (res.status !== 200 || !res.body) throw new Error(`events answered ${res.status}`)
      const decoder = new TextDecoder()
      let buffer = ''
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let cut: number
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, cut))
          buffer = buffer.slice(cut + 2)
        }
        this.wake()
      }
    } catch (err) {
      if (!this.controller.signal.aborted) throw err
    } finally {
      this.ended = true
      this.wake()
    }
  }

  private parse(frame: string) {
    let id: number | undefined
    let event = 'message'
    const data: string[] = []
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim())
      else if (line.startsWith('id: ')) id = Number(line.slice(4))
      else if (line.startsWith('event: ')) event = line.slice(7)
      else if (line.startsWith('data: ')) data.push(line.slice(6))
    }
    if (data.length) this.events.push({ id, event, data: JSON.parse(data.join('\n')) as Json })
  }

  private wake() {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** Waits until an event matching `match` has arrived and returns it. */
  async until(match: (e: SseEvent) => boolean, timeoutMs = 60_000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.find(match)
      if (found) return found
      if (this.ended) throw new Error(`stream ended before the awaited event; got ${this.summary()}`)
      if (Date.now() > deadline) throw new Error(`timed out; got ${this.summary()}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  summary(): string {
    return this.events.map((e) => `${e.id}:${e.event}`).join(' ')
  }

  get ids(): number[] {
    return this.events.flatMap((e) => (e.id === undefined ? [] : [e.id]))
  }

  async close() {
    this.controller.abort()
    await this.done.catch(() => {})
  }
}

/** The session went idle, as the stream says it (a GET may say so before the stream has). */
export const isIdleEvent = (e: SseEvent) => e.event === 'session.status' && e.data.status === 'idle'

/** The answer to a user message: its first assistant message with text (tool calls come in text-less ones). */
export const isReplyTo = (messageId: string) => (e: SseEvent) =>
  e.event === 'message.completed' &&
  e.data.role === 'assistant' &&
  e.data.parentId === messageId &&
  (e.data.text !== '' || e.data.error !== undefined)

export async function sendMessage(id: string, text: string, extra: Json = {}): Promise<string> {
  const res = await api(`/v1/sessions/${id}/messages`, { body: { text, ...extra } })
  if (res.status !== 202) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.messageId as string
}

export type SandboxListing = { sandboxId: string; metadata: Record<string, string>; workdir: string; opencodePid?: number }

export async function sandboxesOf(sessionId: string): Promise<SandboxListing[]> {
  const res = await sandboxHost('/sandboxes')
  const all = (await res.json()) as SandboxListing[]
  return all.filter((s) => s.metadata.sessionId === sessionId)
}

/** A call to the local sandbox host, as the Worker makes them (and as faults are injected). */
export function sandboxHost(path: string, method = 'GET'): Promise<Response> {
  const { sandboxHostUrl, sandboxHostToken } = current()
  return fetch(`${sandboxHostUrl}${path}`, { method, headers: { authorization: `Bearer ${sandboxHostToken}` } })
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** A stream that starts after everything the session has logged so far. */
export async function streamFromNow(id: string): Promise<EventStream> {
  const res = await api(`/v1/sessions/${id}`)
  return new EventStream(id, { after: res.body.lastEventId as number })
}

/** A throwaway git repository with one commit of `files` on `main`; `git(repo, ...)` adds more. */
export function fixtureRepo(name: string, files: Record<string, string>): string {
  const repo = mkdtempSync(join(tmpdir(), `osw-${name}-`))
  git(repo, 'init', '--quiet', '--initial-branch=main')
  commitFiles(repo, files, 'first')
  return repo
}

export function git(repo: string, ...args: string[]) {
  execFileSync('git', args, { cwd: repo })
}

export function commitFiles(repo: string, files: Record<string, string>, message: string) {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(repo, path), content)
  git(repo, 'add', '.')
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', message)
}

/** The Worker's own JSON log lines in a stack's log file (wrangler dev colours the warnings). */
export function logEvents(file: string): Json[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((raw) => {
      const line = raw.replace(/\u001b\[[\d;]*m/g, '')
      const start = line.indexOf('{"level"')
      if (start < 0) return []
      try {
        return [JSON.parse(line.slice(start)) as Json]
      } catch {
        return []
      }
    })
}
