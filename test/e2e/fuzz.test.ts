import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorBody } from '../../src/contracts'
import { ERROR_STATUS } from '../../src/lib/errors'
import { api, baseUrl, createSession, TEST_KEYS, waitForStatus, type Json } from './helpers'

/**
 * Every documented route, fed malformed bodies, parameters, headers and tokens, as a stranger
 * probing the service would: each answer is the 4xx its input calls for (401 for a missing or bad
 * key, 400 for a query a route declares but cannot take), in the contract's error format, never a 5xx.
 * Bodies are chosen never to be valid, so probing starts no sandbox.
 */

const BODIES: (string | undefined)[] = [
  '{',
  'null',
  '[]',
  '"text"',
  '12',
  'true',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{}}}',
  JSON.stringify({ unknownField: 1 }),
  JSON.stringify({ text: 1, prompt: [], reply: {}, answers: 'x', title: { a: 1 } }),
  JSON.stringify({ text: 'x'.repeat(100_001), prompt: '' }),
  JSON.stringify({ repo: { url: 'file:///etc/passwd', token: 5 }, env: { LD_PRELOAD: 'x' }, unknownField: true }),
  JSON.stringify({ ttlSeconds: -1, clearQueue: 'yes', reply: 'maybe', reject: false, unknownField: 0 }),
  JSON.stringify({ callback: { url: 'ftp://x' }, limits: { maxCostUsd: -1 }, modelKeys: { '../x': '' }, unknownField: 0 }),
  '\u0000\u0001\u0002',
  '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
]

const IDS = ['x', 'ses_', '..%2F..%2Fhealth', 'ses_' + 'z'.repeat(400), '%00', 'ses_0123456789ABCDEFGHJK', 'run_0123456789abcdefghjk', '%E2%80%AE', "ses_'--"]

const TOKENS = ['', '.', 'a.b', 'bnVsbA.AAAA', 'e30.AAAA', 'eyJzZXNzaW9uSWQiOjF9.AAAA', '%00', 'x'.repeat(5000), 'W10.W10', 'ses_0123456789abcdefghjk.' + '0'.repeat(48)]

const QUERIES = ['limit=-1', 'limit=abc', 'cursor=%ZZ', 'cursor=' + 'A'.repeat(600), 'after=-5', 'after=1e400', 'raw=maybe', 'wait=true&timeout=0', 'path=../../etc/passwd', 'path=', 'from=2026-13-40&to=x', 'from=2026-01-02&to=2025-01-01']

/** `security`: the route wants an API key (or a session token), so a missing or bad one is a 401. */
type Operation = { method: string; path: string; takesBody: boolean; takesForm: boolean; secured: boolean; queryParams: string[] }

type Answer = { status: number; text: string; contentType: string }

const fill = (path: string, id: string) => path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'id' ? id : 'req_x'))

async function probe(method: string, path: string, init: { body?: string; headers?: Record<string, string>; key?: string | null } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? TEST_KEYS[0]}`
  if (init.body !== undefined) headers['content-type'] ??= 'application/json'
  const controller = new AbortController()
  const res = await fetch(`${baseUrl()}${path}`, { method, headers, body: init.body, signal: controller.signal })
  const contentType = res.headers.get('content-type') ?? ''
  // An event stream that opened is a 200; nothing more to read from it here.
  if (contentType.includes('event-stream')) {
    controller.abort()
    return { status: res.status, text: '', contentType }
  }
  return { status: res.status, text: await res.text(), contentType }
}

/**
 * What is wrong with an answer, or undefined: a 5xx, a status outside `expected`, or an error
 * not in the contract's format (`{"error":{code,message,details?}}` as JSON, its code one that
 * stands for that very status).
 */
function wrongWith(answer: Answer, expected: (status: number) => boolean): string | undefined {
  const { status, text, contentType } = answer
  if (status >= 500 || !expected(status)) return `status ${status}: ${text.slice(0, 80)}`
  if (status < 400) return undefined
  if (!contentType.includes('application/json')) return `${status} as ${contentType || 'no content type'}: ${text.slice(0, 80)}`
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return `${status} with a body that is not JSON: ${text.slice(0, 80)}`
  }
  const parsed = ErrorBody.strict().safeParse(body)
  if (!parsed.success) return `${status} not in the error format: ${text.slice(0, 120)}`
  if (ERROR_STATUS[parsed.data.error.code] !== status) return `${status} with code ${parsed.data.error.code}`
  return undefined
}

const anyAnswer = () => true
const clientError = (status: number) => status >= 400 && status < 500
const exactly = (wanted: number) => (status: number) => status === wanted

/** A list of what went wrong, each with the probe that showed it. */
function findings() {
  const found: string[] = []
  return {
    found,
    check(what: string, answer: Answer, expected: (status: number) => boolean) {
      const wrong = wrongWith(answer, expected)
      if (wrong) found.push(`${what} -> ${wrong}`)
    },
  }
}

let operations: Operation[] = []
let live: string

beforeAll(async () => {
  const doc = (await api('/openapi.json', { key: null })).body
  operations = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    ['get', 'post', 'put', 'patch', 'delete']
      .filter((m) => item[m])
      .map((m) => ({
        method: m.toUpperCase(),
        path: path.replace(/\/$/, '') || '/',
        takesBody: item[m].requestBody !== undefined,
        takesForm: item[m].requestBody?.content?.['application/x-www-form-urlencoded'] !== undefined,
        secured: Array.isArray(item[m].security) && item[m].security.length > 0,
        queryParams: ((item[m].parameters ?? []) as Json[]).filter((p) => p.in === 'query').map((p) => p.name as string),
      })),
  )
  // Ready, so that routes needing its sandbox (diff, files) answer for their input, not its state.
  live = await createSession({ title: 'fuzzed' })
  await waitForStatus(live, 'idle')
})

afterAll(async () => {
  await api(`/v1/sessions/${live}`, { method: 'DELETE' })
})

describe('fuzzing every documented route', () => {
  it('answers malformed bodies with 4xx in the error format', async () => {
    expect(operations.length).toBeGreaterThan(15)
    // The premise of the checks below: the contract marks the API's routes as needing a key.
    expect(operations.filter((o) => o.secured).length).toBeGreaterThan(15)
    const { found, check } = findings()
    for (const op of operations.filter((o) => o.method !== 'GET' && o.method !== 'DELETE')) {
      for (const id of [live, IDS[0]!]) {
        for (const body of BODIES) {
          // A route without a body ignores one; a route with one must refuse these.
          check(`${op.method} ${op.path} ${body?.slice(0, 40)}`, await probe(op.method, fill(op.path, id), { body }), op.takesBody ? clientError : anyAnswer)
        }
        // Every API route takes JSON only, before it looks at the key or the body; those that
        // document a form (Slack's interactivity) take that instead.
        if (op.takesForm) continue
        const wrongType = await probe(op.method, fill(op.path, id), { body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
        check(`${op.method} ${op.path} form body`, wrongType, exactly(415))
      }
    }
    expect(found).toEqual([])
  })

  it('answers malformed ids, invalid queries and bad tokens with 4xx in the error format (a 200 where the input is merely odd)', async () => {
    const { found, check } = findings()
    for (const op of operations) {
      const noBody = op.method === 'GET' || op.method === 'DELETE'
      const paths = op.path.includes('{') ? IDS.map((id) => fill(op.path, id)) : [op.path]
      for (const path of paths) {
        const answer = await probe(op.method, path, { body: noBody ? undefined : '{"unknownField":1}' })
        check(`${op.method} ${path}`, answer, op.path.includes('{id}') || op.takesBody ? clientError : anyAnswer)
      }
      for (const query of QUERIES) {
        // The live session is kept for the probes after this one.
        const id = op.method === 'DELETE' ? IDS[5]! : live
        // Each of QUERIES holds a value no route takes: a route that declares the parameter refuses it, others ignore it.
        const names = [...new URLSearchParams(query).keys()]
        const declared = names.some((n) => op.queryParams.includes(n))
        const answer = await probe(op.method, `${fill(op.path, id)}?${query}`, { body: noBody ? undefined : '[]' })
        check(`${op.method} ${op.path}?${query}`, answer, declared ? exactly(400) : op.takesBody || op.method === 'DELETE' ? clientError : anyAnswer)
      }
      for (const token of TOKENS) {
        // None of these tokens is one the service signed: a route that needs a key finds none.
        const answer = await probe(op.method, `${fill(op.path, live)}?token=${encodeURIComponent(token)}`, { key: null })
        check(`${op.method} ${op.path} token ${token.slice(0, 20)}`, answer, op.secured ? exactly(401) : op.path.startsWith('/v1/') ? clientError : anyAnswer)
      }
    }
    expect(found).toEqual([])
  })

  it('answers a bad Authorization header with 401, and other odd headers with 4xx, in the error format', async () => {
    const badAuth: Record<string, string>[] = [
      { authorization: 'Bearer' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: `Bearer ${'k'.repeat(10_000)}` },
      { authorization: `Basic ${btoa(`${TEST_KEYS[0]}:`)}` },
      { authorization: `Bearer ${TEST_KEYS[0]} ${TEST_KEYS[0]}` },
    ]
    const odd: Record<string, string>[] = [
      { 'last-event-id': '-1' },
      { 'last-event-id': 'abc' },
      { 'last-event-id': '99999999999999999999999' },
      { 'content-type': 'application/json; charset=utf-16' },
      { 'x-signature-256': 'sha256=zz', 'x-timestamp': '-1' },
      { 'x-hub-signature-256': 'sha256=', 'x-github-event': 'issue_comment' },
    ]
    const { found, check } = findings()
    for (const op of operations) {
      const path = fill(op.path, 'ses_0123456789abcdefghjk')
      const body = op.method === 'GET' || op.method === 'DELETE' ? undefined : '{"unknownField":1}'
      for (const h of badAuth) {
        const answer = await probe(op.method, path, { headers: h, key: null, body })
        check(`${op.method} ${op.path} ${JSON.stringify(h).slice(0, 60)}`, answer, op.secured ? exactly(401) : anyAnswer)
        if (op.secured && answer.status === 401 && JSON.parse(answer.text).error.code !== 'unauthorized') found.push(`${op.method} ${op.path}: 401 not unauthorized`)
      }
      for (const h of odd) {
        // The session does not exist, and no body here is valid.
        const answer = await probe(op.method, path, { headers: h, body })
        check(`${op.method} ${op.path} ${JSON.stringify(h).slice(0, 60)}`, answer, op.path.includes('{id}') || op.takesBody ? clientError : anyAnswer)
      }
    }
    expect(found).toEqual([])
  })

  it("answers the model gateway's strangers with 4xx in the error format", async () => {
    const { found, check } = findings()
    for (const token of TOKENS) {
      for (const path of ['local/chat/completions', 'anthropic/messages', '..%2F..%2Fv1%2Fsessions', 'x', 'local/%2e%2e/%2e%2e/health']) {
        for (const header of ['authorization', 'x-api-key', 'x-goog-api-key']) {
          const answer = await probe('POST', `/v1/gateway/${path}`, { key: null, headers: { [header]: header === 'authorization' ? `Bearer ${token}` : token }, body: BODIES[0] })
          check(`${path} ${header} ${token.slice(0, 20)}`, answer, clientError)
        }
      }
    }
    expect(found).toEqual([])
  })
})
