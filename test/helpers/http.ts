import { afterAll, beforeAll, expect } from 'vitest'
import { baseUrl, currentStack, TEST_KEYS } from './stack'
import { scripted } from './scripted'
import { GiveUp, waitFor } from './wait'

export type Json = Record<string, any>

const DEV_PROXY_LOST_CONNECTION = 'Your worker restarted mid-request'

/** Sessions this test file created, by the stack and key that created them: see endSessionsMadeHere. */
const made: { workerUrl: string; id: string; key: string }[] = []

/** A call to the Worker's API as a client makes it: JSON in and out, a tenant's key unless `key: null`. */
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
  const request = () => fetch(`${baseUrl()}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body })
  let res = await request()
  let text = await res.text()
  // Under load wrangler dev's proxy sends a request on a connection the Worker's server is closing
  // as idle (kj's 5 s keep-alive, cloudflare/workers-sdk#14641), and answers a POST that met it with
  // this 503; GETs it repeats itself. Not an answer of the Worker's: ask again.
  for (let attempt = 1; attempt < 3 && res.status === 503 && text.startsWith(DEV_PROXY_LOST_CONNECTION); attempt++) {
    res = await request()
    text = await res.text()
  }
  let json: Json
  try {
    json = text ? (JSON.parse(text) as Json) : {}
  } catch {
    throw new Error(`${init.method ?? 'GET'} ${path} answered ${res.status} with something that is not JSON: ${text.slice(0, 300)}`)
  }
  if (res.status === 201 && typeof json.id === 'string' && json.id.startsWith('ses_')) made.push({ workerUrl: baseUrl(), id: json.id, key: init.key ?? TEST_KEYS[0] })
  return { status: res.status, body: json }
}

/**
 * Ends every session the file created and left open. An idle session's opencode keeps a few
 * hundred MiB and a trickle of CPU until its idle deadline, which on the shared stack is long;
 * dozens of them left behind slow every file that comes after. A file's own stack may already
 * be gone (its close ends everything), so a failure here is no failure of the file.
 */
export async function endSessionsMadeHere() {
  const open = made.splice(0)
  await Promise.all(
    open.map(({ workerUrl, id, key }) =>
      fetch(`${workerUrl}/v1/sessions/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(10_000) })
        .then((res) => res.body?.cancel())
        .catch(() => undefined),
    ),
  )
}

export async function createSession(body: Json = {}, key?: string): Promise<string> {
  const res = await api('/v1/sessions', { method: 'POST', body, key })
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.id as string
}

export async function sendMessage(id: string, text: string, extra: Json = {}): Promise<string> {
  const res = await api(`/v1/sessions/${id}/messages`, { body: { text, ...extra } })
  if (res.status !== 202) throw new Error(`send failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.messageId as string
}

/** The session's status as GET says it; a session that failed on the way stops the wait at once. */
export async function waitForStatus(id: string, status: string, key?: string): Promise<Json> {
  return waitFor(`session ${id} to be ${status}`, async () => {
    const res = await api(`/v1/sessions/${id}`, { key })
    if (res.body.status === 'failed' && status !== 'failed') {
      throw new GiveUp(`session failed: ${JSON.stringify(res.body.error)}`)
    }
    if (res.body.status === status) return res.body
    // Thrown rather than returned, so that a timeout says where the session stood.
    throw new Error(`GET answered ${res.status}: ${JSON.stringify(res.body).slice(0, 400)}`)
  })
}

/** A call to the local sandbox host, as the Worker makes them (and as faults are injected). */
export function sandboxHost(path: string, method = 'GET', body?: Json): Promise<Response> {
  const { sandboxHostUrl, sandboxHostToken } = currentStack()
  const headers: Record<string, string> = { authorization: `Bearer ${sandboxHostToken}` }
  if (body) headers['content-type'] = 'application/json'
  return fetch(`${sandboxHostUrl}${path}`, { method, headers, body: body && JSON.stringify(body) })
}

/** A new session, once it is idle. */
export async function newIdleSession(body: Json = {}, key?: string): Promise<string> {
  const id = await createSession(body, key)
  await waitForStatus(id, 'idle', key)
  return id
}

/**
 * What `make` makes, made at the first ask and the same for every later one: a session for the
 * tests of a file that need only one to call and do nothing to it another test would notice,
 * ended with the file's others. Each session is an agent's boot, the suite's largest cost.
 */
export function madeOnce<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined
  return () => (made ??= make())
}

/** One plain session shared by a file's tests (madeOnce). */
export const sharedSession = (body: Json = {}) => madeOnce(() => createSession(body))

/**
 * An idle session for the tests of one describe block, made before them and ended after them;
 * the getter answers its id.
 */
export function idleSessionForBlock(body: Json = {}): () => string {
  let id: string | undefined
  beforeAll(async () => {
    id = await newIdleSession(body)
  })
  afterAll(async () => {
    if (id) await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
  return () => id!
}

/** Sends a scripted message and waits for its reply: the session works. */
export async function expectAnswered(id: string, text: string) {
  const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: text }) } })
  expect(res.status).toBe(200)
  expect(res.body.reply.text).toBe(text)
}
