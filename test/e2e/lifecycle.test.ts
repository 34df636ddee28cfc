import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  api,
  commitFiles,
  createSession,
  fixtureRepo,
  git,
  EventStream,
  isIdleEvent,
  isReplyTo,
  processAlive,
  sandboxesOf,
  scripted,
  sendMessage,
  waitFor,
  waitForStatus,
} from './helpers'

describe('a session on a cloned repository', () => {
  let repo: string

  beforeAll(() => {
    repo = fixtureRepo('repo', { 'README.md': 'hello from the fixture repo\n' })
    git(repo, 'checkout', '--quiet', '-b', 'feature')
    commitFiles(repo, { 'FEATURE.md': 'only on the feature branch\n' }, 'feature')
    git(repo, 'checkout', '--quiet', 'main')
  })

  afterAll(() => rmSync(repo, { recursive: true, force: true }))

  it('clones the ref, runs setup, and lets the agent work in the checkout', async () => {
    const id = await createSession({
      repo: { url: repo, ref: 'feature' },
      setup: 'cat FEATURE.md README.md > setup-output.txt',
      permissions: { bash: 'allow' },
    })
    const stream = new EventStream(id)
    // On the stream itself: a GET can show the session idle before the stream has carried it there.
    await stream.until(isIdleEvent)
    const steps = stream.events.filter((e) => e.event === 'sandbox.status').map((e) => e.data.step)
    expect(steps).toEqual(['provisioning', 'creating', 'cloning', 'setup', 'saving_snapshot', 'starting_agent', 'started'])

    const messageId = await sendMessage(
      id,
      scripted({
        steps: [
          { tool: { name: 'bash', args: { command: 'cat setup-output.txt', description: 'Show the setup output' } } },
          { text: 'read it' },
        ],
      }),
    )
    await stream.until(isReplyTo(messageId))
    const tool = await stream.until((e) => e.event === 'tool.updated' && e.data.state === 'completed')
    await stream.close()
    expect(tool.data).toMatchObject({ tool: 'bash', callId: expect.any(String) })
    expect(tool.data.output).toContain('only on the feature branch')
    expect(tool.data.output).toContain('hello from the fixture repo')
    expect(stream.events.some((e) => e.event === 'tool.updated' && e.data.state === 'running')).toBe(true)

    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('fails the session with a clear error when setup fails, and leaves no sandbox behind', async () => {
    const id = await createSession({ repo: { url: `file://${repo}` }, setup: 'exit 3' })
    const session = await waitForStatus(id, 'failed')
    expect(session.error).toEqual({ code: 'setup_failed', message: 'the setup command exited with 3' })
    const stream = new EventStream(id)
    await stream.until((e) => e.event === 'session.ended')
    expect(stream.events.find((e) => e.event === 'error')?.data).toMatchObject({ code: 'setup_failed' })
    await waitFor('the sandbox to be gone', async () => (await sandboxesOf(id)).length === 0)
    const refused = await api(`/v1/sessions/${id}/messages`, { body: { text: 'anyone?' } })
    expect(refused.status).toBe(409)
    expect(refused.body.error.code).toBe('conflict')
  })

  it('fails with clone_failed for a repository that does not exist', async () => {
    const id = await createSession({ repo: { url: join(repo, 'missing') } })
    const session = await waitForStatus(id, 'failed')
    expect(session.error.code).toBe('clone_failed')
  })
})

describe('ending a session', () => {
  it('stops its opencode process, ends its streams and refuses further messages', async () => {
    const id = await createSession()
    await waitForStatus(id, 'idle')
    const [sandbox] = await sandboxesOf(id)
    expect(sandbox?.opencodePid).toBeTypeOf('number')
    expect(processAlive(sandbox!.opencodePid!)).toBe(true)
    const stream = new EventStream(id)
    await stream.until(isIdleEvent)

    const res = await api(`/v1/sessions/${id}`, { method: 'DELETE' })
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('ended')

    const ended = await stream.until((e) => e.event === 'session.ended')
    expect(ended.data.reason).toBe('deleted')
    await waitFor('the stream to close', async () => stream.ended)
    expect(processAlive(sandbox!.opencodePid!)).toBe(false)
    expect(await sandboxesOf(id)).toEqual([])

    const again = await api(`/v1/sessions/${id}/messages`, { body: { text: 'hello?' } })
    expect(again.status).toBe(409)
    const second = await api(`/v1/sessions/${id}`, { method: 'DELETE' })
    expect(second.status).toBe(200)
    // A finished session still replays its whole log, then closes the stream.
    const replay = new EventStream(id)
    await waitFor('the replay to close', async () => replay.ended)
    expect(replay.events.at(-1)?.event).toBe('session.ended')
  })

  it('sends the create prompt as the first message once the sandbox is ready', async () => {
    const id = await createSession({ prompt: scripted({ reply: 'first words' }) })
    const stream = new EventStream(id)
    const reply = await stream.until((e) => e.event === 'message.completed' && e.data.role === 'assistant')
    await stream.close()
    expect(reply.data.text).toBe('first words')
    const created = stream.events.findIndex((e) => e.event === 'message.created' && e.data.role === 'user')
    const ready = stream.events.findIndex((e) => e.event === 'sandbox.status' && e.data.state === 'ready')
    const answering = stream.events.findIndex((e) => e.event === 'message.created' && e.data.role === 'assistant')
    // The prompt is announced when accepted, with the session; the agent gets it once the sandbox is ready.
    expect(created).toBeGreaterThan(-1)
    expect(created).toBeLessThan(ready)
    expect(answering).toBeGreaterThan(ready)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
