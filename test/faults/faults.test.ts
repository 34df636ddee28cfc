import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import {
  api,
  expectAnswered,
  createSession,
  deltasOf,
  EventStream,
  expectGapless,
  idleAfter,
  isReplyTo,
  logEvents,
  newIdleSession,
  sandboxesOf,
  sandboxHost,
  scripted,
  sendMessage,
  waitFor,
  waitForStatus,
  words,
} from '../helpers'
import { FAULTS_OPTIONS, FAULTS_SETTINGS, TIMINGS } from './settings'

/**
 * Faults injected into the real stack. For each, what a client reads across reconnects must be
 * the session's log without a hole or a repeat, every accepted message must get an answer or an
 * explicit error, and the session must end up in a truthful status.
 */

const own = ownStackForFile('faults', FAULTS_SETTINGS, FAULTS_OPTIONS)

describe('the agent dies in the middle of a reply', () => {
  it('says so, restarts it on the same workspace, and the next message works', async () => {
    const id = await newIdleSession()
    const [before] = await sandboxesOf(id)
    const stream = new EventStream(id)
    const messageId = await sendMessage(id, scripted({ reply: words(400, 'k'), delayMs: 20 }))
    await stream.until((e) => e.event === 'message.delta')
    process.kill(before!.opencodePid!, 'SIGKILL')

    await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'restarting')
    const error = await stream.until((e) => e.event === 'error' && e.data.code === 'interrupted')
    const ready = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'ready' && e.id! > error.id!)
    await stream.until(idleAfter(error.id!))
    expect(ready.data.reason).toBe('agent restarted')
    const cut = stream.events.find(isReplyTo(messageId))
    expect(cut?.data.error?.code).toBe('interrupted')

    const [after] = await sandboxesOf(id)
    expect(after!.sandboxId).toBe(before!.sandboxId)
    expect(after!.opencodePid).not.toBe(before!.opencodePid)
    await expectAnswered(id, 'alive again')
    await stream.close()
    expectGapless(stream.events)
    expect((await api(`/v1/sessions/${id}`)).body.status).toBe('idle')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('the agent dies while a human is being asked', () => {
  it('resolves the forgotten request as lost, so no ghost stays pending', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const stream = new EventStream(id)
    await sendMessage(
      id,
      scripted({ steps: [{ tool: { name: 'bash', args: { command: 'touch asked.txt', description: 'ask first' } } }, { text: 'never' }] }),
    )
    const ask = await stream.until((e) => e.event === 'permission.requested')
    process.kill(sandbox!.opencodePid!, 'SIGKILL')
    const resolved = await stream.until((e) => e.event === 'permission.resolved')
    expect(resolved.data).toMatchObject({ permissionId: ask.data.permissionId, reply: 'reject', reason: 'lost' })
    await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'ready' && e.id! > resolved.id!)
    await stream.close()
    expect((await api(`/v1/sessions/${id}`)).body.pending.permissions).toEqual([])
    const late = await api(`/v1/sessions/${id}/permissions/${ask.data.permissionId}`, { body: { reply: 'once' } })
    expect(late.status).toBe(404)
    expectGapless(stream.events)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('the whole sandbox disappears', () => {
  it('is noticed at the next alarm with no one asking, and the next message gets a new sandbox with the repository again', async () => {
    const id = await createSession({ repo: { url: process.cwd() }, permissions: { bash: 'allow' } })
    await waitForStatus(id, 'idle')
    await expectAnswered(id, 'first')
    const before = (await api(`/v1/sessions/${id}`)).body.lastEventId as number
    const [sandbox] = await sandboxesOf(id)
    // Deleted while the Worker is away: no link to opencode is open to end, so only the session's
    // alarm can notice, and nothing here asks the session anything until it has (a request would
    // wake it and look): the Worker's log says when.
    await own().stack.restartWorker({ whileDown: () => sandboxHost(`/sandboxes/${sandbox!.sandboxId}`, 'DELETE') })
    const up = Date.now()
    const noticed = await waitFor('the alarm to notice the loss', () =>
      logEvents(own().logFile).find((l) => l.msg === 'sandbox.state' && l.state === 'lost' && l.sessionId === id),
    )
    // docs/operations.md: at the next alarm. Its probe of the agent takes up to 2 s, and the log a moment to read.
    expect(Date.now() - up).toBeLessThan(2 * TIMINGS.wakeMs + 8_000)
    // The alarm's path names itself 'reconnecting'; an ended stream would name the stream.
    expect(noticed.reason).toBe('reconnecting')

    const log = new EventStream(id, { after: before })
    const lost = await log.until((e) => e.event === 'sandbox.status' && e.data.state === 'lost')
    await log.close()
    expect(lost.data.reason).toBe('reconnecting')

    const stream = new EventStream(id, { after: lost.id })
    const messageId = await sendMessage(
      id,
      scripted({ steps: [{ tool: { name: 'bash', args: { command: 'ls package.json', description: 'check the clone' } } }, { text: 'cloned again' }] }),
    )
    const reply = await stream.until(isReplyTo(messageId))
    expect(reply.data.text).toBe('cloned again')
    const steps = stream.events.filter((e) => e.event === 'sandbox.status').map((e) => e.data.reason ?? e.data.state)
    // The repository comes back by a fresh clone, or from the tenant's snapshot of it brought to the session's ref.
    expect(steps).toContain('ready')
    expect(steps.some((s) => s === 'cloning' || s === 'updating')).toBe(true)
    const tool = stream.events.find((e) => e.event === 'tool.updated' && e.data.state === 'completed')
    expect(tool?.data.output).toContain('package.json')
    const [replacement] = await sandboxesOf(id)
    expect(replacement!.sandboxId).not.toBe(sandbox!.sandboxId)
    await stream.close()
    expectGapless(stream.events)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('the connection to the agent is cut', () => {
  it('reconnects and fills the gap, so the client still gets the whole reply exactly once', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const stream = new EventStream(id)
    const text = words(300, 'c')
    const messageId = await sendMessage(id, scripted({ reply: text, delayMs: 15 }))
    await stream.until((e) => e.event === 'message.delta' && /(^| )c20 /.test(e.data.text as string))
    const res = await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/cut`, 'POST')
    const { cut, connections } = (await res.json()) as { cut: number; connections: number }
    // The session's stream to opencode at least went through the relay when it was cut.
    expect(cut).toBeGreaterThanOrEqual(1)
    const relayConnections = async () =>
      ((await (await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/relay`)).json()) as { connections: number }).connections

    const reply = await stream.until(isReplyTo(messageId))
    // The session saw its stream end, and opened a new one to the same opencode.
    expect(logEvents(own().logFile).filter((l) => l.msg === 'agent stream ended' && l.sessionId === id)).toHaveLength(1)
    expect(await relayConnections()).toBeGreaterThan(connections)
    expect((await sandboxesOf(id))[0]!.opencodePid).toBe(sandbox!.opencodePid)
    await stream.until(idleAfter(reply.id!))
    await stream.close()
    expect(reply.data.text).toBe(text)
    expect(deltasOf(stream.events, reply.data.messageId as string)).toBe(text)
    expect(stream.events.filter((e) => e.event === 'message.completed' && e.data.messageId === reply.data.messageId)).toHaveLength(1)
    expect(stream.events.filter((e) => e.event === 'error')).toEqual([])
    expectGapless(stream.events)
    await expectAnswered(id, 'still fine')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('secrets', () => {
  it('never puts the sandbox URL or password in a response, an event or a log line', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const password = readFileSync(`/proc/${sandbox!.opencodePid}/environ`, 'utf8')
      .split('\0')
      .find((v) => v.startsWith('OPENCODE_SERVER_PASSWORD='))
      ?.slice('OPENCODE_SERVER_PASSWORD='.length)
    expect(password).toMatch(/.{16,}/)
    // A reply cut in the middle, so the reconnect and the resync are in the log too.
    const stream = new EventStream(id, { after: 0 })
    const messageId = await sendMessage(id, scripted({ reply: words(200, 's'), delayMs: 10 }))
    await stream.until((e) => e.event === 'message.delta')
    await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/cut`, 'POST')
    const reply = await stream.until(isReplyTo(messageId))
    await stream.until(idleAfter(reply.id!))
    await stream.close()
    const responses = await Promise.all(
      [`/v1/sessions/${id}`, `/v1/sessions/${id}/messages`, '/v1/sessions', `/v1/sessions/${id}/diff`].map((path) => api(path)),
    )
    const seen = [...responses.map((r) => JSON.stringify(r.body)), JSON.stringify(stream.events)].join('\n')
    expect(seen).toContain(reply.data.text as string)
    const log = readFileSync(own().logFile, 'utf8')
    expect(log).toContain(id)
    // Every port the sandbox is reached at: its opencode's own, the relay's in front of it, and the sandbox host's.
    const opencodePort = readFileSync(`/proc/${sandbox!.opencodePid}/cmdline`, 'utf8').split('\0').filter(Boolean).at(-1)!
    const relay = (await (await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/relay`)).json()) as { port: number }
    const ports = [opencodePort, String(relay.port), new URL(own().stack.sandboxHostUrl).port]
    expect(ports.every((p) => /^\d+$/.test(p))).toBe(true)
    const addresses = new RegExp(`(127\\.0\\.0\\.1|localhost|\\[::1\\]|0\\.0\\.0\\.0):(${ports.join('|')})(?!\\d)`)
    for (const text of [seen, log]) {
      expect(text).not.toContain(password)
      expect(text).not.toMatch(addresses)
      expect(text).not.toContain(own().stack.sandboxHostToken)
    }
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
