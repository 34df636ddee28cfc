import { describe, expect, it } from 'vitest'
import { MAX_VARIABLE_BYTES } from '../../src/config/bundled-settings'
import { MAX_MESSAGE_TEXT } from '../../src/events/agent-values'
import { ownStackForFile } from '../helpers/own-stack'
import {
  api,
  baseUrl,
  createSession,
  deltasOf,
  EventStream,
  expectAnswered,
  isReplyTo,
  logEvents,
  newIdleSession,
  scripted,
  sendMessage,
  waitForStatus,
  type Json,
} from './helpers'

/**
 * Within a deployed Worker's limits, on a stack of its own: settings too large for a variable
 * (5 KB each), bundled into the Worker from deployment-settings.json instead; a reply too large
 * for one SQLite row (2 MB, which workerd enforces with SQLITE_TOOBIG).
 */

/** Agents enough to take OPENCODE_CONFIG past what a variable holds, each with a prompt the model can be seen to get. */
const AGENTS = Object.fromEntries(
  Array.from({ length: 40 }, (_, i) => [
    `reviewer-${i}`,
    { mode: 'primary', description: `Reviews changes, variant ${i}`, prompt: `You are reviewer ${i} (marker rv-${i}). ${'Check every change for errors of logic, naming and tests. '.repeat(3)}` },
  ]),
)
/** A repository pool nobody serves: read from the file, it is wanted; its clones fail, in the background. */
const POOLS = [{ repo: 'http://127.0.0.1:9/o/r.git', ref: 'main', size: 2 }]

let bigConfig = ''
const own = ownStackForFile(
  'platform-limits',
  { WARM_POOLS: JSON.stringify(POOLS) },
  {
    opencodeConfig: (scripted) => {
      const config = { ...scripted, agent: AGENTS }
      bigConfig = JSON.stringify(config)
      return config
    },
    bundledSettings: ['OPENCODE_CONFIG', 'WARM_POOLS'],
  },
)

describe('settings too large for a variable', () => {
  it('come from the bundled deployment-settings.json: the deployment is ready, lists the agents, and wants the pools', async () => {
    expect(new TextEncoder().encode(bigConfig).byteLength).toBeGreaterThan(2 * MAX_VARIABLE_BYTES)
    const ready = await fetch(`${baseUrl()}/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ ready: true, provider: 'local', missing: [], reasons: [] })
    const agents = await api('/v1/agents')
    expect(agents.body.agents.map((a: Json) => a.name)).toEqual(expect.arrayContaining(['build', 'reviewer-0', 'reviewer-39']))
    const health = await api('/health', { key: null })
    expect(health.body.repoPools).toMatchObject({ target: 2 })
  })

  it("reach the session's agent: a turn of an agent from the file runs with its prompt", async () => {
    const id = await createSession({ agent: 'reviewer-39' })
    await waitForStatus(id, 'idle')
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'reviewed' }, 'file agent') } })
    expect(res.status).toBe(200)
    expect(res.body.reply.text).toBe('reviewed')
    // The agent's own requests carry tools; the title generator's do not.
    const asked = own().stack.model!.requests.filter((r) => r.tools?.length && JSON.stringify(r.messages ?? []).includes('file agent'))
    expect(asked.length).toBeGreaterThan(0)
    expect(JSON.stringify(asked[0]!.messages)).toContain('marker rv-39')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

})

describe('a reply too large for one row', () => {
  it('reaches clients whole, as it streamed and in the conversation, once, and the session goes on', async () => {
    const id = await newIdleSession()
    const stream = new EventStream(id)
    // 600K characters of three bytes each: 1.8 MB of text, which a message row once held twice
    // over (text and parts), and more characters than a completed message repeats.
    const line = '長い返信の一行です、続きます。\n'
    const repeat = Math.ceil(600_000 / line.length)
    const whole = line.repeat(repeat)
    expect(whole.length).toBeGreaterThan(MAX_MESSAGE_TEXT)
    const messageId = await sendMessage(id, scripted({ reply: line, repeat, chunks: 300 }, 'long reply'))
    const reply = await stream.until(isReplyTo(messageId), 300_000)
    const replyId = reply.data.messageId as string
    expect(deltasOf(stream.events, replyId)).toBe(whole)
    expect(reply.data.text).toBe(`${whole.slice(0, MAX_MESSAGE_TEXT)}\n[truncated ${whole.length - MAX_MESSAGE_TEXT} characters]`)
    await waitForStatus(id, 'idle')

    const listed = (await api(`/v1/sessions/${id}/messages`)).body as Json[]
    const stored = listed.find((m) => m.id === replyId)
    expect(stored?.text).toBe(reply.data.text)
    expect((stored?.parts as Json[]).filter((p) => p.type === 'text').map((p) => p.text).join('')).toBe(whole)

    // The link to the agent held: the reply was completed once, not replayed after a failure.
    await expectAnswered(id, 'still here')
    await stream.close()
    expect(stream.events.filter((e) => e.event === 'message.completed' && e.data.messageId === replyId)).toHaveLength(1)
    expect(logEvents(own().logFile).filter((e) => e.msg === 'agent stream ended' && e.sessionId === id)).toEqual([])
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  }, 400_000)
})

describe('a variable too large', () => {
  it('/ready names a variable over 5 KB, and one the file also sets, never their values', async () => {
    await own().stack.restartWorker({ changes: { OPENCODE_CONFIG: bigConfig } })
    const res = await fetch(`${baseUrl()}/ready`)
    const text = await res.text()
    expect(res.status).toBe(503)
    expect(JSON.parse(text)).toEqual({
      ready: false,
      provider: 'local',
      missing: [],
      reasons: [
        'OPENCODE_CONFIG is set both as a variable and in deployment-settings.json; the variable is used',
        `OPENCODE_CONFIG is ${new TextEncoder().encode(bigConfig).byteLength} bytes, over the 5 KB (${MAX_VARIABLE_BYTES} bytes) a deployed Worker's variable or secret may hold; put it in deployment-settings.json instead`,
      ],
    })
    expect(text).not.toContain('marker rv-')
    expect(text).not.toContain(own().stack.modelKey!)
  })
})
