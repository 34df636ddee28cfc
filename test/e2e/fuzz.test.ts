import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, baseUrl, createSession, TEST_KEYS, waitForStatus, type Json } from './helpers'

/**
 * Every documented route, fed malformed bodies, parameters, headers and tokens, as a stranger
 * probing the service would: each answer is a 4xx in the contract's error format, never a 5xx.
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

type Operation = { method: string; path: string; takesBody: boolean }

const fill = (path: string, id: string) => path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'id' ? id : 'req_x'))

async function probe(method: string, path: string, init: { body?: string; headers?: Record<string, string>; key?: string | null } = {}) {
  const headers: Record<string, string> = { ...init.headers }
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? TEST_KEYS[0]}`
  if (init.body !== undefined) headers['content-type'] ??= 'application/json'
  const controller = new AbortController()
  const res = await fetch(`${baseUrl()}${path}`, { method, headers, body: init.body, signal: controller.signal })
  const status = res.status
  // An event stream that opened is a 200; nothing more to read from it here.
  if (res.headers.get('content-type')?.includes('event-stream')) controller.abort()
  else await res.text()
  return status
}

let operations: Operation[] = []
let live: string

beforeAll(async () => {
  const doc = (await api('/openapi.json', { key: null })).body
  operations = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    ['get', 'post', 'put', 'patch', 'delete']
      .filter((m) => item[m])
      .map((m) => ({ method: m.toUpperCase(), path: path.replace(/\/$/, '') || '/', takesBody: item[m].requestBody !== undefined })),
  )
  // Ready, so that routes needing its sandbox (diff, files) answer for their input, not its state.
  live = await createSession({ title: 'fuzzed' })
  await waitForStatus(live, 'idle')
})

afterAll(async () => {
  await api(`/v1/sessions/${live}`, { method: 'DELETE' })
})

describe('fuzzing every documented route', () => {
  it('answers malformed bodies with 4xx', async () => {
    expect(operations.length).toBeGreaterThan(15)
    const fivexx: string[] = []
    for (const op of operations.filter((o) => o.method !== 'GET' && o.method !== 'DELETE')) {
      for (const id of [live, IDS[0]!]) {
        for (const body of BODIES) {
          const status = await probe(op.method, fill(op.path, id), { body })
          // A route without a body ignores one; a route with one must refuse these.
          if (status >= 500 || (op.takesBody && status < 400)) fivexx.push(`${op.method} ${op.path} ${body?.slice(0, 40)} -> ${status}`)
        }
        const wrongType = await probe(op.method, fill(op.path, id), { body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
        if (wrongType >= 500) fivexx.push(`${op.method} ${op.path} form body -> ${wrongType}`)
      }
    }
    expect(fivexx).toEqual([])
  })

  it('answers malformed ids, queries and tokens with 4xx (or a 200 where the input is merely odd)', async () => {
    const fivexx: string[] = []
    for (const op of operations) {
      const paths = op.path.includes('{') ? IDS.map((id) => fill(op.path, id)) : [op.path]
      for (const path of paths) {
        const status = await probe(op.method, path, { body: op.method === 'GET' || op.method === 'DELETE' ? undefined : '{"unknownField":1}' })
        if (status >= 500 || (op.path.includes('{id}') && status < 400)) fivexx.push(`${op.method} ${path} -> ${status}`)
      }
      for (const query of QUERIES) {
        // The live session is kept for the probes after this one.
        const id = op.method === 'DELETE' ? IDS[5]! : live
        const status = await probe(op.method, `${fill(op.path, id)}?${query}`, { body: op.method === 'GET' || op.method === 'DELETE' ? undefined : '[]' })
        if (status >= 500) fivexx.push(`${op.method} ${op.path}?${query} -> ${status}`)
      }
      for (const token of TOKENS) {
        const status = await probe(op.method, `${fill(op.path, live)}?token=${encodeURIComponent(token)}`, { key: null })
        if (status >= 500 || (op.path.startsWith('/v1/') && status < 400)) fivexx.push(`${op.method} ${op.path} token ${token.slice(0, 20)} -> ${status}`)
      }
    }
    expect(fivexx).toEqual([])
  })

  it('answers odd headers with 4xx, never 5xx', async () => {
    const headers: Record<string, string>[] = [
      { authorization: 'Bearer' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: `Bearer ${'k'.repeat(10_000)}` },
      { 'last-event-id': '-1' },
      { 'last-event-id': 'abc' },
      { 'last-event-id': '99999999999999999999999' },
      { 'content-type': 'application/json; charset=utf-16' },
      { 'x-signature-256': 'sha256=zz', 'x-timestamp': '-1' },
      { 'x-hub-signature-256': 'sha256=', 'x-github-event': 'issue_comment' },
    ]
    const fivexx: string[] = []
    for (const op of operations) {
      for (const h of headers) {
        const key = h.authorization ? null : undefined
        const status = await probe(op.method, fill(op.path, 'ses_0123456789abcdefghjk'), { headers: h, key, body: op.method === 'GET' || op.method === 'DELETE' ? undefined : '{"unknownField":1}' })
        if (status >= 500) fivexx.push(`${op.method} ${op.path} ${JSON.stringify(h).slice(0, 60)} -> ${status}`)
      }
    }
    expect(fivexx).toEqual([])
  })

  it("answers the model gateway's strangers with 4xx", async () => {
    const fivexx: string[] = []
    for (const token of TOKENS) {
      for (const path of ['local/chat/completions', 'anthropic/messages', '..%2F..%2Fv1%2Fsessions', 'x', 'local/%2e%2e/%2e%2e/health']) {
        for (const header of ['authorization', 'x-api-key', 'x-goog-api-key']) {
          const status = await probe('POST', `/v1/gateway/${path}`, { key: null, headers: { [header]: header === 'authorization' ? `Bearer ${token}` : token }, body: BODIES[0] })
          if (status >= 500 || status < 400) fivexx.push(`${path} ${header} ${token.slice(0, 20)} -> ${status}`)
        }
      }
    }
    expect(fivexx).toEqual([])
  })
})
