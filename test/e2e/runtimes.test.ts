import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inDialect } from '../../local/model-server'
import { ownStackForFile } from '../helpers/own-stack'
import {
  api,
  createSession,
  deltasOf,
  EventStream,
  finished,
  isIdleEvent,
  isReplyTo,
  processAlive,
  processesWith,
  sandboxesOf,
  scripted,
  sendMessage,
  TEST_KEYS,
  waitFor,
  waitForStatus,
  words,
  type Json,
} from './helpers'

/**
 * Claude Code as a session's runtime, through HTTP: the real claude-code-acp (Claude Code by
 * @anthropic-ai/claude-agent-sdk) in a local sandbox behind the ACP bridge, its model the
 * scripted one in Anthropic's dialect reached through the Worker's gateway; and Codex (codex-acp)
 * the same way in OpenAI's Responses dialect. One session per runtime, on a stack whose deployment
 * has a provider speaking each API.
 */

/** Both dialects: Claude Code takes the Anthropic-speaking provider, Codex the Responses one (the default model). */
const own = ownStackForFile('runtimes', {}, { scriptedModel: true, opencodeConfig: (c) => inDialect('responses')(inDialect('anthropic')(c)) })
const modelBase = () => own().stack.model!.url.replace(/\/v1$/, '')

/** Environment of a process, as /proc holds it. */
const environOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  )

describe('runtimes', () => {
  it('lists the runtimes with what each supports, and refuses one it does not know or cannot run', async () => {
    const agents = await api('/v1/agents')
    expect(agents.status).toBe(200)
    const runtimes = Object.fromEntries((agents.body.runtimes as Json[]).map((r) => [r.id, r]))
    expect(Object.keys(runtimes)).toEqual(['opencode', 'claude-code', 'codex'])
    expect(runtimes.opencode).toMatchObject({ default: true, available: true, supports: { revert: true, fork: true, questions: true } })
    expect(runtimes['claude-code']).toMatchObject({ default: false, available: true, modelApi: 'anthropic', supports: { revert: false, fork: false, questions: false } })

    const unknown = await api('/v1/sessions', { method: 'POST', body: { runtime: 'aider' } })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.code).toBe('validation_failed')
    expect(runtimes.codex).toMatchObject({ available: true, modelApi: 'responses', supports: { revert: false } })
    const profile = await api('/v1/sessions', { method: 'POST', body: { runtime: 'claude-code', agent: 'plan' } })
    expect(profile.status).toBe(400)
    expect(profile.body.error.code).toBe('unsupported_for_runtime')
  })
})

describe('a Claude Code session', () => {
  let id: string
  let stream: EventStream
  beforeAll(async () => {
    id = await createSession({ runtime: 'claude-code', title: 'claude' })
    stream = new EventStream(id)
    await stream.until(isIdleEvent, 120_000)
  })
  afterAll(async () => {
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('streams a reply as deltas, completes it, and answers ?wait=true', async () => {
    expect((await api(`/v1/sessions/${id}`)).body.runtime).toBe('claude-code')
    const text = words(30, 'cc')
    const messageId = await sendMessage(id, scripted({ reply: text, delayMs: 30 }))
    const done = await stream.until(isReplyTo(messageId))
    expect(done.data.text).toBe(text)
    expect(deltasOf(stream.events, done.data.messageId as string)).toBe(text)
    expect(stream.events.filter((e) => e.event === 'message.delta' && e.data.messageId === done.data.messageId).length).toBeGreaterThan(1)

    const waited = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'short answer' }) } })
    expect(waited.status).toBe(200)
    expect(waited.body.reply.text).toBe('short answer')
  })

  it('asks before running a command, and runs it once answered through the permission route', async () => {
    const steps = [{ tool: { name: 'Bash', args: { command: 'echo ran-by-claude > proof.txt && cat proof.txt', description: 'write proof' } } }, { text: 'wrote: {{tool_result}}' }]
    const messageId = await sendMessage(id, scripted({ steps }))
    const asked = await stream.until((e) => e.event === 'permission.requested' && e.id! > 0 && !stream.events.some((r) => r.event === 'permission.resolved' && r.data.permissionId === e.data.permissionId))
    expect(asked.data).toMatchObject({ permission: 'Bash' })
    expect((await api(`/v1/sessions/${id}`)).body.pending.permissions).toHaveLength(1)
    // Another tenant cannot answer it, nor learn that it exists.
    const hostile = await api(`/v1/sessions/${id}/permissions/${asked.data.permissionId}`, { body: { reply: 'once' }, key: TEST_KEYS[1] })
    expect(hostile.status).toBe(404)
    const answered = await api(`/v1/sessions/${id}/permissions/${asked.data.permissionId}`, { body: { reply: 'once' } })
    expect(answered.status).toBe(200)
    const reply = await stream.until(isReplyTo(messageId))
    expect(stream.events.some((e) => e.event === 'tool.updated' && e.data.tool === 'Bash' && e.data.state === 'completed')).toBe(true)
    expect(reply.data.text).toContain('wrote')
    const file = await api(`/v1/sessions/${id}/files?path=proof.txt`)
    expect(file.body.content).toContain('ran-by-claude')
  })

  it('hands a message’s attachment to Claude Code as a link to the file in the sandbox', async () => {
    const mark = `attached-${Date.now()}`
    const content = `notes for ${mark}\n`
    const attachments = [{ filename: 'notes.txt', mime: 'text/plain', data: Buffer.from(content).toString('base64') }]
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'seen the notes' }, mark), attachments } })
    expect(res.status).toBe(200)
    expect(res.body.reply.text).toBe('seen the notes')
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    const sent = JSON.stringify(requests.findLast((r) => JSON.stringify(r.messages).includes(mark))!.messages)
    // Claude Code shows the model the link (named by the file as the sandbox keeps it); the file there holds the bytes sent.
    const link = /\(file:\/\/([^)"]*notes\.txt)\)/.exec(sent)!
    expect(readFileSync(decodeURIComponent(link[1]!), 'utf8')).toBe(content)
  })

  it('stops a turn on abort, and takes the next message', async () => {
    const messageId = await sendMessage(id, scripted({ reply: words(400, 'slow'), delayMs: 50 }))
    await stream.until((e) => e.event === 'message.delta' && stream.events.some((c) => c.event === 'message.created' && c.data.parentId === messageId && c.data.messageId === e.data.messageId))
    const aborted = await api(`/v1/sessions/${id}/abort`, { method: 'POST', body: {} })
    expect(aborted.status).toBe(200)
    expect(aborted.body.aborted).toBe(true)
    const ended = await stream.until((e) => e.event === 'message.completed' && e.data.parentId === messageId)
    expect(ended.data.error).toMatchObject({ code: 'aborted' })
    expect(ended.data.text.length).toBeLessThan(words(400, 'slow').length)
    await waitForStatus(id, 'idle')
    const next = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'after the abort' }) } })
    expect(next.body.reply.text).toBe('after the abort')
  })

  it('replays exactly what came after Last-Event-ID', async () => {
    const from = stream.events.at(-10)!.id!
    const replay = new EventStream(id, { lastEventId: from })
    try {
      const last = stream.events.at(-1)!.id!
      await replay.until((e) => e.id === last)
      expect(replay.ids.filter((n) => n <= last)).toEqual(stream.ids.filter((n) => n > from && n <= last))
    } finally {
      await replay.close()
    }
  })

  it('has no provider key in the sandbox: the agent reaches the model through the gateway with its session token', async () => {
    const [sandbox] = await sandboxesOf(id)
    const bridge = sandbox!.opencodePid!
    const agent = processesWith(1, bridge)[0]!
    const modelKey = own().stack.modelKey!
    for (const pid of [bridge, agent]) {
      const env = environOf(pid)
      expect(Object.values(env).some((v) => v.includes(modelKey))).toBe(false)
      expect(env.ANTHROPIC_BASE_URL).toMatch(/\/v1\/gateway\/claude$/)
    }
    // The model answered (it takes the deployment's key only): the gateway put the key in place of the session's token.
    expect(stream.events.some((e) => e.event === 'message.completed' && e.data.role === 'assistant' && e.data.text)).toBe(true)
    expect(environOf(agent).ANTHROPIC_API_KEY).not.toBe(modelKey)
    expect(environOf(agent).DISABLE_TELEMETRY).toBe('1')
  })

  it('restarts a killed agent and loads its conversation again (ACP session/load)', async () => {
    const [sandbox] = await sandboxesOf(id)
    const agent = processesWith(1, sandbox!.opencodePid!)[0]!
    process.kill(agent, 'SIGKILL')
    await waitFor('the agent to be restarted', async () => (stream.events.some((e) => e.event === 'sandbox.status' && e.data.step === 'agent_restarted') ? true : undefined), 120_000)
    expect(processAlive(agent)).toBe(false)
    const mark = `after-restart-${Date.now()}`
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'back again' }, mark) } })
    expect(res.body.reply.text).toBe('back again')
    // The model was sent the conversation from before the kill along with the new message.
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    const last = JSON.stringify(requests.findLast((r) => JSON.stringify(r.messages).includes(mark))!.messages)
    expect(last).toContain('after the abort')
  })
})

describe('a Claude Code run', () => {
  it('works unattended (its agent’s asks allowed, as opencode’s runs are) and succeeds with its reply and the diff', async () => {
    const steps = [{ tool: { name: 'Bash', args: { command: 'echo from-a-run > RUN.md', description: 'write' } } }, { text: 'Wrote RUN.md.' }]
    const started = await api('/v1/runs', { body: { prompt: scripted({ steps }), runtime: 'claude-code' } })
    expect(started.status).toBe(202)
    const run = await finished(started.body.id as string)
    expect(run.status).toBe('succeeded')
    expect(run.result.text).toBe('Wrote RUN.md.')
    expect(run.result.diff).toContain('+from-a-run')
    expect((await api(`/v1/sessions/${run.sessionId}`)).body.runtime).toBe('claude-code')
  })
})

describe('a Codex session', () => {
  let id: string
  let stream: EventStream
  beforeAll(async () => {
    id = await createSession({ runtime: 'codex' })
    stream = new EventStream(id)
    await stream.until(isIdleEvent, 120_000)
  })
  afterAll(async () => {
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('streams a reply through the gateway in the Responses dialect, with no provider key in the sandbox', async () => {
    const text = words(20, 'cx')
    const messageId = await sendMessage(id, scripted({ reply: text }))
    const done = await stream.until(isReplyTo(messageId))
    expect(done.data.text).toContain(text)
    expect(deltasOf(stream.events, done.data.messageId as string)).toBe(done.data.text)
    const calls = (await (await fetch(`${modelBase()}/_calls`)).json()) as { url: string }[]
    expect(calls.some((c) => c.url.endsWith('/responses'))).toBe(true)

    const [sandbox] = await sandboxesOf(id)
    const agent = processesWith(1, sandbox!.opencodePid!)[0]!
    const modelKey = own().stack.modelKey!
    for (const pid of [sandbox!.opencodePid!, agent, ...processesWith(1, agent)]) {
      expect(Object.values(environOf(pid)).some((v) => v.includes(modelKey))).toBe(false)
    }
    // Codex's configuration names the gateway as its provider, and holds no key.
    const config = readFileSync(`${sandbox!.workdir}/../home/.codex/config.toml`, 'utf8')
    expect(config).toMatch(/base_url = ".*\/v1\/gateway\/openai"/)
    expect(config).not.toContain(modelKey)
  })
})
