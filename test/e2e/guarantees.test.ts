import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { createClient, streamEvents, type SessionEvent, type SseFrame } from '../../src/client'
import {
  api,
  baseUrl,
  CANARY_PROVIDER_KEY,
  COLOUR_QUESTION,
  createSession,
  deltasOf,
  EventStream,
  expectGapless,
  GiveUp,
  idleAfter,
  idleSessionForBlock,
  isIdleEvent,
  isReplyTo,
  sandboxesOf,
  scripted,
  sendMessage,
  streamFromNow,
  TEST_KEYS,
  waitFor,
  words,
  waitForStatus,
  type Json,
} from './helpers'

/** The documented numbers (docs/api.md: the route table and the events' guarantees), written out so a change to either shows here. */
const PING_EVERY_MS = 10_000
const MIN_TOKEN_TTL_SECONDS = 10

const finishedRun = (id: string) =>
  waitFor(
    `run ${id} to finish`,
    async () => {
      const res = await api(`/v1/runs/${id}`)
      return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(res.body.status as string) ? res.body : undefined
    },
    120_000,
  )

/** Every event of an ended session, read back from its log. */
async function logOf(sessionId: string): Promise<EventStream> {
  const log = new EventStream(sessionId)
  await waitFor('the ended session to replay its log', async () => log.ended)
  return log
}

describe('the event stream', () => {
  const session = idleSessionForBlock()

  it('sends a `: ping` comment every 10 s on a quiet stream', async () => {
    const stream = await streamFromNow(session())
    const seen: number[] = []
    await waitFor(
      'two pings',
      async () => {
        while (seen.length < stream.comments.filter((c) => c === 'ping').length) seen.push(Date.now())
        return seen.length >= 3
      },
      4 * PING_EVERY_MS,
    )
    await stream.close()
    // Measured between pings (not from the stream's start, which falls anywhere in the period).
    const gaps = [seen[1]! - seen[0]!, seen[2]! - seen[1]!]
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(PING_EVERY_MS / 2)
      expect(gap).toBeLessThan(PING_EVERY_MS * 1.5)
    }
  })

  it('adds opencode’s own events with ?raw=1, live only and without ids', async () => {
    const before = (await api(`/v1/sessions/${session()}`)).body.lastEventId as number
    const raw = new EventStream(session(), { after: before, raw: true })
    const plain = new EventStream(session(), { after: before })
    const messageId = await sendMessage(session(), scripted({ reply: 'raw and cooked' }))
    await raw.until(isReplyTo(messageId))
    await plain.until(isReplyTo(messageId))
    await raw.until(isIdleEvent)
    await plain.until(isIdleEvent)
    await raw.close()
    await plain.close()

    const agent = raw.events.filter((e) => e.event === 'agent.event')
    expect(agent.length).toBeGreaterThan(0)
    for (const e of agent) {
      expect(e.id).toBeUndefined()
      // opencode's own shape, untouched: `{type, properties}`, not one of ours (`sessionId`, `at`).
      expect(e.data).toMatchObject({ type: expect.any(String), properties: expect.any(Object) })
      expect(e.data).not.toHaveProperty('at')
    }
    expect(JSON.stringify(agent)).toContain('raw and cooked')
    expect(agent.map((e) => e.data.type)).toContain('message.part.updated')
    // Beside them, the same numbered events as a plain stream.
    expect(raw.events.filter((e) => e.event !== 'agent.event')).toEqual(plain.events)
    expect(plain.events.some((e) => e.event === 'agent.event')).toBe(false)

    // A replay sends none of them: any that come are live ones opencode sends later (a late
    // update after the turn), after every replayed event.
    const lastId = plain.events.at(-1)!.id!
    const replay = new EventStream(session(), { after: before, raw: true })
    await replay.until((e) => e.id === lastId)
    await replay.close()
    const replayed = replay.events.slice(0, replay.events.findIndex((e) => e.id === lastId) + 1)
    expect(replayed.filter((e) => e.event !== 'agent.event')).toEqual(plain.events)
    expect(replayed.some((e) => e.event === 'agent.event')).toBe(false)
  })

  it('announces a user message the moment it is accepted, before the running turn ends', async () => {
    const stream = await streamFromNow(session())
    const running = await sendMessage(session(), scripted({ reply: Array.from({ length: 60 }, (_, i) => `w${i}`).join(' '), delayMs: 100 }))
    await stream.until((e) => e.event === 'message.delta')
    const second = await sendMessage(session(), scripted({ reply: 'second' }))
    const created = await stream.until((e) => e.event === 'message.created' && e.data.messageId === second)
    const completed = await stream.until((e) => e.event === 'message.completed' && e.data.messageId === second)
    expect(created.data).toMatchObject({ role: 'user' })
    expect(completed.data).toMatchObject({ role: 'user' })
    const firstReply = await stream.until(isReplyTo(running))
    expect(completed.id!).toBeLessThan(firstReply.id!)
    await stream.until(isReplyTo(second))
    await stream.close()
  })

  it('replays a burst of deltas from any Last-Event-ID exactly as it went out live', async () => {
    const reply = words(2000, 'b')
    const before = (await api(`/v1/sessions/${session()}`)).body.lastEventId as number
    const live = new EventStream(session(), { after: before })
    const userMessage = await sendMessage(session(), scripted({ reply, chunks: 2000 }))
    const done = await live.until(idleAfter(before), 120_000)
    await live.close()
    const completed = await live.until(isReplyTo(userMessage))
    const sent = live.events.filter((e) => e.id! <= done.id!)
    expectGapless(sent)
    expect(deltasOf(sent, completed.data.messageId as string)).toBe(reply)
    // Pieces that reach the session together go out as one delta: fewer deltas than pieces.
    expect(sent.filter((e) => e.event === 'message.delta').length).toBeLessThan(2000)
    const first = before + 1
    const cuts = [first - 1, ...Array.from({ length: 6 }, (_, i) => first + Math.floor(((i + 1) * (done.id! - first)) / 7)), done.id! - 1]
    for (const cut of cuts) {
      const resumed = new EventStream(session(), { lastEventId: cut })
      await resumed.until((e) => e.id === done.id)
      await resumed.close()
      expect(resumed.events.filter((e) => e.id! <= done.id!)).toEqual(sent.filter((e) => e.id! > cut))
    }
  })
})

describe('unattended questions', () => {
  it('gives a background run no question tool', async () => {
    const marker = `no-questions-${Date.now()}`
    const started = await api('/v1/runs', { body: { prompt: scripted({ steps: [COLOUR_QUESTION, { text: 'answered alone' }] }, marker) } })
    expect(started.status).toBe(202)
    const run = await finishedRun(started.body.id as string)
    expect(run.status).toBe('succeeded')
    const requests = (await (await fetch(`${inject('modelUrl').replace(/\/v1$/, '')}/_requests`)).json()) as Json[]
    const agentRequests = requests.filter((r) => r.tools?.length && JSON.stringify(r.messages ?? []).includes(marker))
    expect(agentRequests.length).toBeGreaterThan(0)
    for (const r of agentRequests) expect(r.tools.map((t: Json) => t.function?.name)).not.toContain('question')
    const log = await logOf(run.sessionId as string)
    expect(log.events.filter((e) => e.event.startsWith('question.'))).toEqual([])
  })
})

describe('?wait=true', () => {
  it('answers 504 after ?timeout= seconds and the turn goes on', async () => {
    const id = await createSession()
    await waitForStatus(id, 'idle')
    const stream = await streamFromNow(id)
    const text = scripted({ reply: Array.from({ length: 40 }, (_, i) => `p${i}`).join(' '), delayMs: 100 })
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=1`, { body: { text } })
    expect(res.status).toBe(504)
    expect(res.body.error.code).toBe('timeout')
    const messageId = res.body.error.details.messageId as string
    expect(messageId).toEqual(expect.any(String))
    const reply = await stream.until(isReplyTo(messageId))
    await stream.close()
    expect(reply.data.text).toContain('p39')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('session tokens', () => {
  it('read the session until they expire, then answer 401', async () => {
    const id = await createSession()
    const tooShort = await api(`/v1/sessions/${id}/tokens`, { body: { ttlSeconds: MIN_TOKEN_TTL_SECONDS - 1 } })
    expect(tooShort.status).toBe(400)
    // docs/api.md, the route table: at most a day.
    expect((await api(`/v1/sessions/${id}/tokens`, { body: { ttlSeconds: 86_400 + 1 } })).status).toBe(400)
    expect((await api(`/v1/sessions/${id}/tokens`, { body: { ttlSeconds: 86_400 } })).status).toBe(201)
    const issued = await api(`/v1/sessions/${id}/tokens`, { body: { ttlSeconds: MIN_TOKEN_TTL_SECONDS } })
    expect(issued.status).toBe(201)
    const { token, expiresAt } = issued.body as { token: string; expiresAt: string }
    const read = (): Promise<{ status: number; body: Json }> => api(`/v1/sessions/${id}?token=${encodeURIComponent(token)}`, { key: null })
    expect((await read()).status).toBe(200)
    const expiry = Date.parse(expiresAt)
    expect(expiry - Date.now()).toBeLessThanOrEqual(MIN_TOKEN_TTL_SECONDS * 1000)
    // It reads until it expires, and is refused from then on: a refusal seen before its expiry is a failure, not the awaited end.
    const refused = await waitFor('the token to be refused once expired', async () => {
      const res = await read()
      if (res.status === 200) return undefined
      if (Date.now() < expiry) throw new GiveUp(`answered ${res.status} ${expiry - Date.now()} ms before it expired`)
      return res
    }, MIN_TOKEN_TTL_SECONDS * 1000 + 10_000)
    expect(refused.status).toBe(401)
    expect(refused.body.error.code).toBe('unauthorized')
    const events = await fetch(`${baseUrl()}/v1/sessions/${id}/events?token=${encodeURIComponent(token)}`)
    expect(events.status).toBe(401)
    await events.body?.cancel()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('the typed client', () => {
  it('creates a session, talks to it and follows its stream against the real Worker', async () => {
    const client = createClient(baseUrl(), { apiKey: TEST_KEYS[0] })
    const created = await client.v1.sessions.$post({ json: { title: 'typed client' } })
    if (created.status !== 201) throw new Error(`create answered ${created.status}`)
    const session = await created.json()
    expect(session).toMatchObject({ id: expect.stringMatching(/^ses_/), title: 'typed client' })
    await waitForStatus(session.id, 'idle')

    const events: SessionEvent[] = []
    const frames: SseFrame[] = []
    const abort = new AbortController()
    const following = streamEvents(baseUrl(), session.id, {
      apiKey: TEST_KEYS[0],
      raw: true,
      signal: abort.signal,
      onEvent: (e) => events.push(e),
      onFrame: (f) => frames.push(f),
    })
    const sent = await client.v1.sessions[':id'].messages.$post({ param: { id: session.id }, query: {}, json: { text: scripted({ reply: 'typed hello' }) } })
    expect(sent.status).toBe(202)
    const { messageId } = (await sent.json()) as { messageId: string }
    await waitFor('the reply on the stream', async () =>
      events.some((e) => e.type === 'message.completed' && (e.data as Json).parentId === messageId && (e.data as Json).text === 'typed hello'),
    )
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1))
    expect(frames.some((f) => f.event === 'agent.event')).toBe(true)

    const ended = await client.v1.sessions[':id'].$delete({ param: { id: session.id } })
    expect(ended.status).toBe(200)
    const end = await following
    abort.abort()
    expect(end.reason).toBe('ended')
    expect(events.at(-1)?.type).toBe('session.ended')
    expect(end.lastEventId).toBe(events.at(-1)?.id)

    const stranger = createClient(baseUrl(), { apiKey: TEST_KEYS[1] })
    const hidden = await stranger.v1.sessions[':id'].$get({ param: { id: session.id } })
    expect(hidden.status).toBe(404)
  })
})

describe('provider keys', () => {
  /** The command lines of the sandbox's processes: opencode, everything it started, and whatever runs in its folder. */
  function sandboxCommandLines(opencodePid: number, folder: string): string[] {
    const children = new Map<number, number[]>()
    const inFolder: number[] = []
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
        if (readlinkSync(`/proc/${entry}/cwd`).startsWith(`${folder}/`)) inFolder.push(Number(entry))
      } catch {
        // the process ended while we looked, or is not ours to read
      }
    }
    const tree = [opencodePid]
    for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []))
    return [...new Set([...tree, ...inFolder])].flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')]
      } catch {
        return []
      }
    })
  }

  it('are never on a command line of the sandbox’s processes', async () => {
    const id = await createSession({ permissions: { bash: 'allow' } })
    await waitForStatus(id, 'idle')
    const stream = await streamFromNow(id)
    const [sandbox] = await sandboxesOf(id)
    expect(sandbox?.opencodePid).toEqual(expect.any(Number))
    // A turn that is running a command while we look, so the agent's children are there too; it
    // runs until the test has looked and lets it go.
    const hold = 'until-the-test-has-looked'
    const command = `while [ ! -e ${hold} ]; do sleep 0.1; done`
    const messageId = await sendMessage(id, scripted({ steps: [{ tool: { name: 'bash', args: { command, description: 'wait' } } }, { text: 'released' }] }))
    const cmdlines = await waitFor('the command to be running', async () => {
      const all = sandboxCommandLines(sandbox!.opencodePid!, dirname(sandbox!.workdir))
      return all.some((c) => c.includes(hold)) && all
    })
    // What opencode holds instead of the provider key: its password and the gateway token, both as environment only.
    const environ = Object.fromEntries(
      readFileSync(`/proc/${sandbox!.opencodePid}/environ`, 'utf8')
        .split('\0')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ) as Record<string, string>
    const password = environ.OPENCODE_SERVER_PASSWORD ?? ''
    const gatewayToken = (JSON.parse(environ.OPENCODE_CONFIG_CONTENT ?? '{}') as Json).provider?.local?.options?.apiKey ?? ''
    expect(password.length).toBeGreaterThan(16)
    expect(gatewayToken.length).toBeGreaterThan(16)
    // Counted, not printed: a failure must not put the secrets in the test output either.
    for (const secret of [CANARY_PROVIDER_KEY, password, gatewayToken]) {
      expect(cmdlines.filter((c) => c.includes(secret)).length).toBe(0)
    }
    expect(Object.values(environ).filter((v) => v.includes(CANARY_PROVIDER_KEY)).length).toBe(0)
    writeFileSync(join(sandbox!.workdir, hold), '')
    expect((await stream.until(isReplyTo(messageId))).data.text).toBe('released')
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
