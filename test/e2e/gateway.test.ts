import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import type { SeenCall } from '../../local/model-server'
import {
  agentChat,
  agentRuns,
  api,
  baseUrl,
  CANARY_PROVIDER_KEY,
  createSession,
  EventStream,
  gatewayTokenOf,
  idleAfter,
  isReplyTo,
  modelBase,
  sandboxesOf,
  sandboxHost,
  scripted,
  sendMessage,
  sharedAgentSession,
  streamFromNow,
  waitFor,
  waitForStatus,
  words,
  type Json,
} from './helpers'

/**
 * The model gateway, attacked from inside a sandbox: the agent runs any command and prints what
 * it sees. The scripted model answers only to the key the Worker holds (`modelKey`), so every
 * reply in this suite is also proof that the gateway put the real key in.
 */

const keysSeenByModel = async () => (await (await fetch(`${modelBase()}/_keys`)).json()) as string[]

/** The tests that only call the gateway with a sandbox's token, or abort a turn, share one session. */
const plain = sharedAgentSession()

const PRINT_EVERYTHING = 'env; cat "$HOME"/.config/opencode/*.json* 2>/dev/null; cat "$HOME"/.local/share/opencode/auth.json 2>/dev/null; true'

describe('provider keys stay in the Worker', () => {
  let id: string
  let printed: string

  beforeAll(async () => {
    ;({ id, printed } = await agentRuns(PRINT_EVERYTHING))
  })

  it('lets the agent see no provider key, in its environment, its files or its processes, while the model gets the real one', async () => {
    expect(printed).toContain('OPENCODE_CONFIG_CONTENT')
    expect(printed).toContain(`${baseUrl()}/v1/gateway/local`)
    for (const secret of [inject('modelKey'), CANARY_PROVIDER_KEY]) {
      expect(printed).not.toContain(secret)
      const [sandbox] = await sandboxesOf(id)
      const environ = readFileSync(`/proc/${sandbox!.opencodePid}/environ`, 'utf8')
      expect(environ).toContain('OPENCODE_CONFIG_CONTENT')
      expect(environ).not.toContain(secret)
      // grep exits 1 when nothing matches: no file of the sandbox holds the key
      expect(() => execFileSync('grep', ['-rqF', secret, dirname(sandbox!.workdir)])).toThrow()
    }
    expect(await keysSeenByModel()).toContain(`Bearer ${inject('modelKey')}`)
  })

  it("opens nothing with the sandbox's gateway token but its own session's model calls", async () => {
    const token = /"apiKey":"(ses_[0-9a-z]{20}\.[0-9a-f]{48}\.[0-9a-f]{64})"/.exec(printed)?.[1]
    expect(token?.startsWith(`${id}.`)).toBe(true)
    const gw = (path: string, key: string, init: RequestInit = {}) =>
      fetch(`${baseUrl()}/v1/gateway/${path}`, { ...init, headers: { authorization: `Bearer ${key}`, ...init.headers } })

    const models = await gw('local/models', token!)
    expect(models.status).toBe(200)
    expect(((await models.json()) as Json).data[0].id).toBe('offline-demo')

    expect((await api(`/v1/sessions/${id}`, { key: token! })).status).toBe(401)
    expect((await gw('local/models', `${id}.${'0'.repeat(48)}`)).status).toBe(401)
    expect((await gw('local/models', 'sk-anything')).status).toBe(401)
    expect((await gw('nosuch/models', token!)).status).toBe(404)
    expect((await gw('local/..%2F..%2F_keys', token!)).status).toBe(400)
    // what the gateway answers a sandbox is the contract's error format, not the provider's key
    const refused = await gw('local/models', 'sk-anything')
    expect(((await refused.json()) as Json).error.code).toBe('unauthorized')

    expect((await api(`/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect((await gw('local/models', token!)).status).toBe(401)
  })
})

const gateway = (path: string, token: string) =>
  fetch(`${baseUrl()}/v1/gateway/${path}`, { headers: { authorization: `Bearer ${token}` }, redirect: 'manual' })

describe('the gateway and its tokens', () => {
  it("lets a sandbox's token die with it: the replacement sandbox gets a new one that works, the old one is refused", async () => {
    const id = await createSession({})
    await waitForStatus(id, 'idle')
    // Followed, so that the loss is noticed at once.
    const stream = new EventStream(id)
    const [sandbox] = await sandboxesOf(id)
    const old = gatewayTokenOf(sandbox!.opencodePid!)
    expect((await gateway('local/models', old)).status).toBe(200)

    await sandboxHost(`/sandboxes/${sandbox!.sandboxId}`, 'DELETE')
    await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'lost')
    const messageId = await sendMessage(id, scripted({ reply: 'from the replacement' }))
    expect((await stream.until(isReplyTo(messageId), 120_000)).data.text).toBe('from the replacement')
    await stream.close()
    const [replacement] = await sandboxesOf(id)
    expect(replacement!.sandboxId).not.toBe(sandbox!.sandboxId)
    const fresh = gatewayTokenOf(replacement!.opencodePid!)
    expect(fresh).not.toBe(old)
    expect((await gateway('local/models', fresh)).status).toBe(200)
    const refused = await gateway('local/models', old)
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as Json).error.code).toBe('unauthorized')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('follows no redirect from a provider: the 3xx goes back as it came, and nothing reaches where it points', async () => {
    const { token } = await plain()
    const landedBefore = ((await (await fetch(`${modelBase()}/_landed`)).json()) as string[]).length
    const res = await gateway('local/models?_redirect=1', token)
    await res.body?.cancel()
    expect(res.status).toBe(307)
    // The scripted provider redirects only a call with the real key (others get 401): the gateway put it
    // in, and then left the redirect unfollowed.
    expect(res.headers.get('location')).toBe(`${modelBase()}/_landing`)
    expect(((await (await fetch(`${modelBase()}/_landed`)).json()) as string[]).length).toBe(landedBefore)
  })
})

/** What reached the scripted model, call by call (method, path with query, header names). */
const callsSeenByModel = async () => (await (await fetch(`${modelBase()}/_calls`)).json()) as SeenCall[]

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex')

describe('what the gateway forwards', () => {
  it("forwards a sandbox's model calls only: anything else its token could do with the provider key is refused, and nothing reaches the provider", async () => {
    const { token } = await plain()
    // Each attack carries a mark of its own in its query, which the provider would see if it arrived.
    const attacks: [method: string, path: string, status: number][] = [
      ['GET', 'files', 403],
      ['POST', 'messages/batches', 403],
      ['POST', 'fine_tuning/jobs', 403],
      ['DELETE', 'files/file-1', 403],
      ['POST', 'batches', 403],
      // a tab inside `..`: the provider's URL parser drops it and climbs out of the base path
      ['GET', '.%09./.%09./x', 400],
      ['POST', 'chat/.%09./.%09./.%09./x', 400],
      ['GET', '..%2F..%2Fx', 400],
      ['GET', 'models%5c..%5c..%5cx', 400],
      ['GET', 'models%00', 400],
    ]
    const marks: string[] = []
    for (const [method, path, status] of attacks) {
      const mark = `attack-${randomHex(6)}`
      marks.push(mark)
      const res = await fetch(`${baseUrl()}/v1/gateway/local/${path}?mark=${mark}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: method === 'POST' ? '{}' : undefined,
      })
      expect([method, path, res.status]).toEqual([method, path, status])
      expect(((await res.json()) as Json).error.code).toBe(status === 400 ? 'bad_request' : 'forbidden')
    }

    // A model call goes on, without the headers that would pick who pays or carry the sandbox's own credentials.
    const mark = `allowed-${randomHex(6)}`
    const models = await fetch(`${baseUrl()}/v1/gateway/local/models?mark=${mark}`, {
      headers: {
        authorization: `Bearer ${token}`,
        'OpenAI-Organization': 'org-of-someone-else',
        'OpenAI-Project': 'proj-of-someone-else',
        cookie: 'session=1',
        'x-sandbox-header': 'anything',
      },
    })
    expect(models.status).toBe(200)
    await models.body?.cancel()
    const seen = await callsSeenByModel()
    expect(seen.filter((call) => marks.some((m) => call.url.includes(m)))).toEqual([])
    const allowed = seen.filter((call) => call.url.includes(mark))
    expect(allowed).toHaveLength(1)
    for (const header of ['openai-organization', 'openai-project', 'cookie', 'x-sandbox-header']) expect(allowed[0]!.headers).not.toContain(header)
  })
})

describe('a large model request', () => {
  it('reaches the provider whole, as it was sent, with its usage asked for', async () => {
    const { token } = await plain()
    const marker = `large-request-${randomHex(4)}`
    // About 24 MB of UTF-8, many characters of three bytes, in a request of OpenAI's shape that streams.
    // A short scripted reply: the scripted model otherwise answers by repeating what it was sent.
    const content = `${marker} ${scripted({ reply: 'ok' })} ${'ü€ abc '.repeat(2_000_000)}`
    const res = await agentChat(token, { model: 'offline-demo', messages: [{ role: 'user', content }], stream: true, max_tokens: 50 })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('"usage"')
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    const seen = requests.find((r) => typeof r.messages === 'object' && JSON.stringify(r.messages).slice(0, 200).includes(marker))!
    expect((seen.messages as { content: string }[])[0]!.content === content).toBe(true)
    expect(seen.stream_options).toEqual({ include_usage: true })
  })
})

describe('cost fields the provider reads', () => {
  it("refuses a request naming its model again past the gateway's reading, so no call counts at another model's price, and the provider gets none", async () => {
    const { token } = await plain()
    // The agent's attacks: the model the gateway prices first and the one the provider reads (its
    // last) 100 KB on; an output bound the gateway reserves for, then the one the provider obeys.
    const attacks = {
      later: `{"model":"offline-demo","messages":[{"role":"user","content":"${randomHex(50_000)}"}],"model":"costly-model","stream":true}`,
      twice: `{"model":"offline-demo","max_tokens":5,"max_tokens":900000,"messages":[{"role":"user","content":"hi"}]}`,
    }
    for (const [name, body] of Object.entries(attacks)) {
      const res = await agentChat(token, body)
      expect([name, res.status]).toEqual([name, 400])
      expect(((await res.json()) as Json).error.code).toBe('validation_failed')
    }
    // The head's refusal sends nothing; the later one cuts the body short, which no provider takes as a request.
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    expect(requests.filter((r) => r.model === 'costly-model' || r.max_tokens === 900000)).toEqual([])
  })
})

describe('bring your own key', () => {
  it("calls the model with the session's own key, for that session only, and shows it nowhere", async () => {
    const own = `sk-own-${Date.now().toString(36)}-key`
    const id = await createSession({ modelKeys: { local: own } })
    const stream = new EventStream(id)
    const messageId = await sendMessage(id, 'hello with my own key')
    // The scripted model knows only the deployment's key, so the session's own is refused there.
    const busy = await stream.until((e) => e.event === 'session.status' && e.data.status === 'busy')
    await stream.until(idleAfter(busy.id!))
    expect(await keysSeenByModel()).toContain(`Bearer ${own}`)
    const seen = JSON.stringify([
      stream.events,
      (await api(`/v1/sessions/${id}`)).body,
      (await api(`/v1/sessions/${id}/messages`)).body,
      messageId,
    ])
    expect(seen).not.toContain(own)
    const [sandbox] = await sandboxesOf(id)
    expect(readFileSync(`/proc/${sandbox!.opencodePid}/environ`, 'utf8')).not.toContain(own)
    await stream.close()

    const { id: other } = await plain()
    const reply = await api(`/v1/sessions/${other}/messages?wait=true&timeout=120`, { body: { text: 'and mine uses the deployment key' } })
    expect(reply.status).toBe(200)
  })

  it('refuses keys for providers the deployment cannot reach', async () => {
    const res = await api('/v1/sessions', { body: { modelKeys: { 'no-such-provider': 'k' } } })
    expect(res.status).toBe(400)
    expect(JSON.stringify(res.body)).not.toContain('"k"')
  })
})

describe('spend caps', () => {
  it("stops the provider's answer when the turn is aborted, so it costs no more", async () => {
    const cutBefore = (await (await fetch(`${modelBase()}/_cut`)).json()) as number
    const { id } = await plain()
    const stream = await streamFromNow(id)
    // 400 pieces 50 ms apart: 20 s of answer, of which the abort leaves the provider to send almost none.
    await sendMessage(id, scripted({ reply: words(400, 'long'), delayMs: 50 }))
    await stream.until((e) => e.event === 'message.delta')
    expect((await api(`/v1/sessions/${id}/abort`, { body: {} })).status).toBe(200)
    await waitFor('the model to see its caller hang up', async () => ((await (await fetch(`${modelBase()}/_cut`)).json()) as number) > cutBefore, 15_000)
    await stream.close()
  })

  it('ends the turn with budget_exceeded once a session reaches its limit, and refuses further messages', async () => {
    const id = await createSession({ limits: { maxOutputTokens: 1 } })
    const stream = new EventStream(id)
    await sendMessage(id, 'spend a little')
    const exceeded = await stream.until((e) => e.event === 'error' && e.data.code === 'budget_exceeded')
    expect(exceeded.data.message).toContain('output tokens')
    await waitForStatus(id, 'idle')
    const again = await api(`/v1/sessions/${id}/messages`, { body: { text: 'more' } })
    expect(again.status).toBe(402)
    expect(again.body.error.code).toBe('budget_exceeded')
    await stream.close()
  })

  it('fails a run that reaches its cost limit, with that code', async () => {
    const res = await api('/v1/runs', { body: { prompt: 'write a long essay', limits: { maxCostUsd: 0.000001 } } })
    expect(res.status).toBe(202)
    const run = await waitFor('the run to end', async () => {
      const r = await api(`/v1/runs/${res.body.id}`)
      return ['queued', 'running'].includes(r.body.status) ? undefined : r.body
    }, 120_000)
    expect(run.status).toBe('failed')
    expect(run.error.code).toBe('budget_exceeded')
  })
})
