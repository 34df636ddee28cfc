import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, EventStream, expectGapless, modelBase, TEST_KEYS, newIdleSession, sandboxesOf, sandboxHost, scripted, waitFor, waitForStatus, type Json } from './helpers'

/** Sends a message and waits for its turn to end; answers the public message id. */
async function turn(id: string, text: string): Promise<string> {
  const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text } })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  await waitForStatus(id, 'idle')
  return res.body.messageId as string
}

const write = (content: string, reply: string) =>
  scripted({ steps: [{ tool: { name: 'write', args: { filePath: 'notes.txt', content } } }, { text: reply }] }, `${reply}:`)
const notes = async (id: string) => (await api(`/v1/sessions/${id}/files?path=notes.txt`)).body.content as string | undefined
const conversation = async (id: string) => (await api(`/v1/sessions/${id}/messages`)).body as unknown as Json[]

/** The environment of a session's opencode, as the sandbox host's processes have it. */
async function agentEnv(sessionId: string): Promise<{ sandboxId: string; password: string; environ: string }> {
  const [sandbox] = await sandboxesOf(sessionId)
  const environ = readFileSync(`/proc/${sandbox!.opencodePid}/environ`, 'utf8')
  const password = environ
    .split('\0')
    .find((v) => v.startsWith('OPENCODE_SERVER_PASSWORD='))!
    .slice('OPENCODE_SERVER_PASSWORD='.length)
  return { sandboxId: sandbox!.sandboxId, password, environ }
}

/** What the model was last sent in the turn whose user message starts with `marker`. */
async function modelSaw(marker: string): Promise<string> {
  const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as { messages?: Json[] }[]
  const asked = requests.filter((r) => JSON.stringify(r.messages?.at(-1) ?? '').includes(marker) && !/title generator/i.test(JSON.stringify(r.messages)))
  return JSON.stringify(asked.at(-1)?.messages)
}

describe('fork', () => {
  let id: string
  const forks: string[] = []

  beforeAll(async () => {
    id = await newIdleSession({ title: 'to be forked', permissions: { '*': 'allow' } })
  })

  afterAll(async () => {
    for (const s of [id, ...forks]) await api(`/v1/sessions/${s}`, { method: 'DELETE' })
  })

  it('starts a session from a turn of the conversation and a copy of the workspace, under its own credentials; the two go their own ways', async () => {
    const first = await turn(id, write('one\n', 'wrote one'))
    await turn(id, write('two\n', 'wrote two'))
    const original = await conversation(id)
    const firstTurn = original.slice(0, original.findIndex((m, i) => i > 0 && m.role === 'user'))
    expect(firstTurn.map((m) => m.text)).toContain('wrote one')

    const res = await api(`/v1/sessions/${id}/fork`, { body: { messageId: first } })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const fork = res.body.id as string
    forks.push(fork)
    expect(fork).not.toBe(id)
    expect(res.body).toMatchObject({ status: 'idle', title: 'to be forked' })
    // The conversation up to that turn, its user message under the same id; the workspace as it stands.
    expect(await conversation(fork)).toEqual(firstTurn.map((m) => ({ ...m, id: m.role === 'user' ? m.id : expect.any(String) })))
    expect(await notes(fork)).toBe('two\n')
    const listed = (await api(`/v1/sessions`)).body.items as Json[]
    expect(listed.map((s) => s.id)).toContain(fork)

    // Its stream, read from the start as a client that opens the fork does, replays that conversation:
    // each kept message created then completed, in the order GET /messages lists them, a reply naming its user message.
    const replay = new EventStream(fork)
    await replay.until((e) => e.event === 'sandbox.status' && e.data.state === 'ready')
    await replay.close()
    expectGapless(replay.events)
    expect(replay.events[0]?.id).toBe(1)
    const kept = await conversation(fork)
    const told = replay.events.filter((e) => e.event === 'message.created' || e.event === 'message.completed')
    expect(told.map((e) => `${e.event} ${e.data.messageId as string}`)).toEqual(kept.flatMap((m) => [`message.created ${m.id}`, `message.completed ${m.id}`]))
    const completed = told.filter((e) => e.event === 'message.completed')
    expect(completed.map((e) => ({ role: e.data.role, text: e.data.text }))).toEqual(kept.map((m) => ({ role: m.role, text: m.text })))
    const firstUser = kept.find((m) => m.role === 'user')!.id
    for (const reply of completed.filter((e) => e.data.role === 'assistant')) expect(reply.data.parentId).toBe(firstUser)

    // Its own opencode, which the original's password does not open, with its own gateway token.
    const mine = await agentEnv(id)
    const theirs = await agentEnv(fork)
    expect(theirs.sandboxId).not.toBe(mine.sandboxId)
    expect(theirs.password).not.toBe(mine.password)
    expect(theirs.environ).not.toContain(mine.password)
    expect(theirs.environ).toContain(`"apiKey":"${fork}.`)
    expect(theirs.environ).not.toContain(`"apiKey":"${id}.`)
    const { url } = (await (await sandboxHost(`/sandboxes/${theirs.sandboxId}/opencode`, 'POST', {})).json()) as { url: string }
    const health = (password: string) => fetch(`${url}/global/health`, { headers: { authorization: `Basic ${btoa(`opencode:${password}`)}` } })
    expect((await health(mine.password)).status).toBe(401)
    expect((await health(theirs.password)).status).toBe(200)

    // A turn in the fork: the model sees the first turn only; the original's files stay.
    await turn(fork, write('fork\n', 'wrote fork'))
    const seen = await modelSaw('wrote fork:')
    expect(seen).toContain('wrote one:')
    expect(seen).not.toContain('wrote two:')
    const forked = await conversation(fork)
    expect(forked.slice(0, firstTurn.length).map((m) => m.text)).toEqual(firstTurn.map((m) => m.text))
    expect(forked.filter((m) => m.role === 'user')).toHaveLength(2)
    expect(forked.at(-1)?.text).toBe('wrote fork')
    expect(forked.map((m) => m.text)).not.toContain('wrote two')
    expect(await notes(fork)).toBe('fork\n')
    expect(await notes(id)).toBe('two\n')
    await turn(id, write('three\n', 'wrote three'))
    expect(await notes(fork)).toBe('fork\n')
    expect(await notes(id)).toBe('three\n')

    // Without a message: all of it; a fork can be forked again.
    const all = await api(`/v1/sessions/${fork}/fork`, { method: 'POST' })
    expect(all.status, JSON.stringify(all.body)).toBe(201)
    forks.push(all.body.id as string)
    expect(await conversation(all.body.id as string)).toEqual(
      (await conversation(fork)).map((m) => ({ ...m, id: m.role === 'user' ? m.id : expect.any(String) })),
    )
    expect(await notes(all.body.id as string)).toBe('fork\n')
  }, 300_000)

  it('holds a message sent to the original while the copy is made until it is done, so the copy does not move under it', async () => {
    const before = await notes(id)
    const known = new Set([id, ...forks])
    const forking = api(`/v1/sessions/${id}/fork`, { body: {} })
    // The fork is listed once admitted, before its copy is made.
    await waitFor('the fork to be admitted', async () =>
      ((await api('/v1/sessions')).body.items as Json[]).some((s) => s.title === 'to be forked' && !known.has(s.id as string)),
    )
    const sent = await api(`/v1/sessions/${id}/messages`, { body: { text: write('during\n', 'wrote during') } })
    expect(sent.status).toBe(202)
    expect(sent.body.queued).toBe(true)
    // The original takes no undo and no other fork meanwhile either.
    expect((await api(`/v1/sessions/${id}/fork`, { body: {} })).status).toBe(409)
    const res = await forking
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    forks.push(res.body.id as string)
    await waitFor('the held message to run', async () => (await notes(id)) === 'during\n', 150_000)
    expect(await notes(res.body.id as string)).toBe(before)
    expect((await conversation(res.body.id as string)).map((m) => m.text)).not.toContain('wrote during')
    await waitForStatus(id, 'idle')
  }, 300_000)

  it('refuses to undo in a fork a message copied from the original (409), and undoes those sent to the fork', async () => {
    const copied = await turn(id, write('r1\n', 'wrote r1'))
    const res = await api(`/v1/sessions/${id}/fork`, { body: {} })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const fork = res.body.id as string
    forks.push(fork)
    const refused = await api(`/v1/sessions/${fork}/revert`, { body: { messageId: copied } })
    expect(refused.status).toBe(409)
    expect(refused.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining('forked from') })
    expect(await notes(fork)).toBe('r1\n')

    const own = await turn(fork, write('r2\n', 'wrote r2'))
    expect(await notes(fork)).toBe('r2\n')
    const undone = await api(`/v1/sessions/${fork}/revert`, { body: { messageId: own } })
    expect(undone.status, JSON.stringify(undone.body)).toBe(200)
    expect(await notes(fork)).toBe('r1\n')
    expect((await conversation(fork)).map((m) => m.text)).not.toContain('wrote r2')
    expect(await notes(id)).toBe('r1\n')
  }, 300_000)

  it('answers 404 for a message it does not have, 409 while a turn runs, 400 for a bad body, and 404 to another tenant', async () => {
    expect((await api(`/v1/sessions/${id}/fork`, { body: { messageId: 'msg_unknown' } })).status).toBe(404)
    expect((await api(`/v1/sessions/${id}/fork`, { body: { messageId: 7 } })).status).toBe(400)
    expect((await api(`/v1/sessions/${id}/fork`, { body: { at: 'x' } })).status).toBe(400)
    expect((await api(`/v1/sessions/${id}/fork`, { body: {}, key: TEST_KEYS[1] })).status).toBe(404)
    const slow = await api(`/v1/sessions/${id}/messages`, { body: { text: scripted({ reply: 'slowly', delayMs: 300 }) } })
    expect(slow.status).toBe(202)
    const busy = await api(`/v1/sessions/${id}/fork`, { body: {} })
    expect(busy.status).toBe(409)
    expect(busy.body.error.code).toBe('conflict')
    await waitForStatus(id, 'idle')
  })
})
