import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import {
  api,
  CANARY_PROVIDER_KEY,
  createSession,
  EventStream,
  isReplyTo,
  modelBase,
  scripted,
  sendMessage,
  streamFromNow,
  waitFor,
  waitForStatus,
  type Json,
} from './helpers'
import { MCP_FIXTURE } from '../helpers/mcp-fixture'

type ModelRequest = { model?: string; messages?: { role: string; content?: unknown }[]; tools?: { function?: { name?: string; description?: string } }[] }

/** The requests the scripted model received for the turn carrying `marker`. */
async function requestsWith(marker: string): Promise<ModelRequest[]> {
  const all = (await (await fetch(`${modelBase()}/_requests`)).json()) as ModelRequest[]
  // The agent's own requests carry tools; the title generator's do not.
  return all.filter((r) => r.tools?.length && JSON.stringify(r.messages ?? []).includes(marker))
}

const SECRET = 'canary-secret-value-4f1d'
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

describe('a session configured for its product', () => {
  let id: string
  let stream: EventStream
  const responses: Json[] = []
  const record = async (call: Promise<{ status: number; body: Json }>) => {
    const res = await call
    responses.push(res.body)
    return res
  }

  beforeAll(async () => {
    const created = await record(
      api('/v1/sessions', {
        body: {
          model: 'local/offline-demo-large',
          instructions: 'Always answer like a ship captain.',
          skills: [
            {
              name: 'release-notes',
              description: 'Writes release notes from merged changes',
              instructions: 'Read CHANGES.md, then write the notes.',
              files: { 'template.md': '# Release {{version}}' },
            },
          ],
          mcp: { fixture: { type: 'local', command: ['node', 'mcp-fixture.mjs'] } },
          files: [
            { path: 'notes/todo.txt', content: 'buy more coffee\n' },
            { path: 'mcp-fixture.mjs', content: MCP_FIXTURE },
          ],
          env: { GREETING: 'ahoy' },
          secrets: { API_TOKEN: SECRET },
          permissions: { bash: 'allow', edit: 'allow' },
        },
      }),
    )
    expect(created.status).toBe(201)
    id = created.body.id as string
    stream = new EventStream(id)
    await waitForStatus(id, 'idle')
  })

  afterAll(async () => {
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('has the files in the workspace before the first turn', async () => {
    const file = await record(api(`/v1/sessions/${id}/files?path=notes/todo.txt`))
    expect(file.status).toBe(200)
    expect(file.body).toMatchObject({ path: 'notes/todo.txt', type: 'text', content: 'buy more coffee\n' })
  })

  it('refuses paths outside the workspace', async () => {
    for (const path of ['../../../etc/passwd', '/etc/passwd', 'notes/../../x']) {
      const res = await api(`/v1/sessions/${id}/files?path=${encodeURIComponent(path)}`)
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('validation_failed')
    }
  })

  it('calls the chosen model with the instructions and the skill, and a message can pick another model', async () => {
    const marker = `first-${Date.now()}`
    const messageId = await sendMessage(id, scripted({ reply: 'aye' }, marker))
    await stream.until(isReplyTo(messageId))
    const [request] = await requestsWith(marker)
    expect(request?.model).toBe('offline-demo-large')
    const system = JSON.stringify(request?.messages?.filter((m) => m.role === 'system'))
    expect(system).toContain('Always answer like a ship captain.')
    expect(JSON.stringify(request)).toContain('release-notes')
    expect(JSON.stringify(request)).toContain('Writes release notes from merged changes')

    const other = `second-${Date.now()}`
    const second = await record(api(`/v1/sessions/${id}/messages`, { body: { text: scripted({ reply: 'aye' }, other), model: 'local/offline-demo' } }))
    await stream.until(isReplyTo(second.body.messageId as string))
    expect((await requestsWith(other))[0]?.model).toBe('offline-demo')
  })

  it('gives the agent the MCP server’s tools', async () => {
    const marker = `mcp-${Date.now()}`
    const requests = await requestsWith('first-')
    expect(requests[0]?.tools?.map((t) => t.function?.name)).toContain('fixture_whisper')
    const messageId = await sendMessage(
      id,
      scripted({ steps: [{ tool: { name: 'fixture_whisper', args: {} } }, { text: 'it said {{tool_result}}' }] }, marker),
    )
    const reply = await stream.until(isReplyTo(messageId))
    expect(reply.data.text).toContain('fixture-word')
  })

  it('hands env and secrets to the sandbox, and never shows the secret', async () => {
    // opencode's own events are live only, so the raw stream has to be open before the turn.
    const raw = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number, raw: true })
    const messageId = await sendMessage(
      id,
      scripted({
        steps: [
          { tool: { name: 'bash', args: { command: 'echo "$GREETING"; printf %s "$API_TOKEN" | sha256sum', description: 'env' } } },
          { text: 'checked' },
        ],
      }),
    )
    await stream.until(isReplyTo(messageId))
    await raw.until(isReplyTo(messageId))
    await raw.close()
    const tool = stream.events.filter((e) => e.event === 'tool.updated' && e.data.state === 'completed').at(-1)
    expect(tool?.data.output).toContain('ahoy')
    expect(tool?.data.output).toContain(sha256(SECRET))
    // The raw frames carried the tool's output too, so the check below reads what opencode said.
    const agentEvents = raw.events.filter((e) => e.event === 'agent.event')
    expect(JSON.stringify(agentEvents)).toContain(sha256(SECRET))

    await record(api(`/v1/sessions/${id}`))
    await record(api(`/v1/sessions/${id}/messages`))
    const everything = new EventStream(id, { raw: true })
    await waitFor('the replay', async () => everything.events.length >= stream.events.length)
    await everything.close()
    const seen = JSON.stringify([responses, everything.events, raw.events])
    const log = readFileSync(inject('workerLogFile'), 'utf8')
    for (const secret of [SECRET, CANARY_PROVIDER_KEY]) {
      expect(seen).not.toContain(secret)
      expect(log).not.toContain(secret)
    }
  })

  it('keeps usage up to date after each turn', async () => {
    const before = (await api(`/v1/sessions/${id}`)).body.usage as { inputTokens: number; outputTokens: number }
    await api(`/v1/sessions/${id}/messages?wait=true&timeout=60`, { body: { text: scripted({ reply: 'more tokens please' }) } })
    const after = (await api(`/v1/sessions/${id}`)).body.usage as { inputTokens: number; outputTokens: number }
    expect(after.inputTokens).toBeGreaterThan(before.inputTokens)
    expect(after.outputTokens).toBeGreaterThan(before.outputTokens)
  })

  it('shows what the agent changed', async () => {
    const messageId = await sendMessage(
      id,
      scripted({
        steps: [{ tool: { name: 'write', args: { filePath: 'src/hello.txt', content: 'hello from the agent\n' } } }, { text: 'wrote it' }],
      }),
    )
    await stream.until(isReplyTo(messageId))
    const changed = await stream.until((e) => e.event === 'file.changed')
    expect(changed.data.path).toBe('src/hello.txt')
    const diff = await api(`/v1/sessions/${id}/diff`)
    expect(diff.status).toBe(200)
    const file = (diff.body.files as { path: string; patch?: string; additions: number }[]).find((f) => f.path.endsWith('src/hello.txt'))
    expect(file?.additions).toBeGreaterThan(0)
    const read = await api(`/v1/sessions/${id}/files?path=src/hello.txt`)
    expect(read.body.content).toBe('hello from the agent\n')
  })
})

describe('titles', () => {
  it('are generated from the first message, sent as an event, and can be renamed', async () => {
    const id = await createSession()
    await waitForStatus(id, 'idle')
    const stream = await streamFromNow(id)
    await api(`/v1/sessions/${id}/messages?wait=true&timeout=60`, { body: { text: scripted({ reply: 'titled' }) } })
    const titled = await stream.until((e) => e.event === 'session.updated')
    expect(titled.data.title).toBe('Scripted session')
    expect((await api(`/v1/sessions/${id}`)).body.title).toBe('Scripted session')

    const renamed = await api(`/v1/sessions/${id}`, { method: 'PATCH', body: { title: 'My own name' } })
    expect(renamed.status).toBe(200)
    expect(renamed.body.title).toBe('My own name')
    await stream.until((e) => e.event === 'session.updated' && e.data.title === 'My own name')
    await stream.close()
    const listed = await api('/v1/sessions?limit=100')
    expect(listed.body.items.find((s: { id: string }) => s.id === id)?.title).toBe('My own name')
    const bad = await api(`/v1/sessions/${id}`, { method: 'PATCH', body: { title: '' } })
    expect(bad.status).toBe(400)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('refuses bad agent configuration with the field named', async () => {
    const cases: [Json, string][] = [
      [{ skills: [{ name: 'Bad Name', description: 'd', instructions: 'i' }] }, 'json.skills.0.name'],
      [{ files: [{ path: '../escape.txt', content: 'x' }] }, 'json.files.0.path'],
      [{ env: { HOME: '/tmp' } }, 'json.env.HOME'],
      [{ secrets: { OPENCODE_SERVER_PASSWORD: 'x' } }, 'json.secrets.OPENCODE_SERVER_PASSWORD'],
      [{ mcp: { x: { type: 'remote', url: 'not a url' } } }, 'json.mcp.x.url'],
    ]
    for (const [body, path] of cases) {
      const res = await api('/v1/sessions', { body })
      expect(res.status).toBe(400)
      expect((res.body.error.details as { path: string }[]).map((d) => d.path)).toContain(path)
    }
  })
})
