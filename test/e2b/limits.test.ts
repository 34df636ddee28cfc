import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, EventStream, isIdleEvent, isReplyTo, scripted, standInSandboxesOf, waitFor, waitForStatus } from '../helpers'

/**
 * The E2B plan's limits, kept within by the deployment (docs/operations.md, "Plan requirements and limits"): a sandbox budget
 * across the account (E2B_MAX_SANDBOXES) that refuses new sessions before E2B would, and the
 * continuous-run limit (E2B_MAX_RUN_SECONDS), ahead of which a session's sandbox is paused between
 * turns; the stand-in ends sandboxes past the run limit as E2B does.
 */

const E2B_KEY = 'e2b_limits_key_0123456789abcdef'

describe('the sandbox budget (E2B_MAX_SANDBOXES)', () => {
  let own: OwnStack
  beforeAll(async () => {
    own = await startOwnStack('e2b-budget', { E2B_MAX_SANDBOXES: '2' }, { e2bStandIn: { apiKey: E2B_KEY }, scriptedModel: true })
  })
  afterAll(async () => {
    await own?.close()
  })

  it('refuses a new session with a clear 503 while the budget is used up, and takes one again once a sandbox is gone', async () => {
    const first = await createSession()
    const second = await createSession()
    await waitForStatus(first, 'idle')
    await waitForStatus(second, 'idle')
    const creates = own.stack.e2b!.createAttempts()
    const refused = await api('/v1/sessions', { method: 'POST', body: {} })
    expect(refused.status).toBe(503)
    expect(refused.body.error.code).toBe('sandbox_unavailable')
    expect(refused.body.error.message).toMatch(/E2B_MAX_SANDBOXES/)
    // Refused before E2B was asked.
    expect(own.stack.e2b!.createAttempts()).toBe(creates)

    await api(`/v1/sessions/${first}`, { method: 'DELETE' })
    await waitFor('the ended session\'s sandbox to go', () => standInSandboxesOf(own.stack.e2b!, first).length === 0)
    const third = await createSession()
    await waitForStatus(third, 'idle')
  })
})

describe('the continuous-run limit (E2B_MAX_RUN_SECONDS)', () => {
  /** The plan's limit here, in seconds: E2B's are an hour (Hobby) and a day (Pro). */
  const RUN_LIMIT_S = 20
  let own: OwnStack
  /** one session for both tests */
  let id: string
  beforeAll(async () => {
    own = await startOwnStack(
      'e2b-run-limit',
      { E2B_MAX_RUN_SECONDS: String(RUN_LIMIT_S), TIMINGS: JSON.stringify({ wakeMs: 1_000 }) },
      { e2bStandIn: { apiKey: E2B_KEY }, scriptedModel: true },
    )
    own.stack.e2b!.enforceRunLimit(RUN_LIMIT_S)
  })
  afterAll(async () => {
    await own?.close()
  })

  it('pauses a session in use between turns before E2B would end its sandbox, and goes on in the same sandbox', async () => {
    id = await createSession()
    const stream = new EventStream(id, { after: 0 })
    try {
      await stream.until(isIdleEvent)
      const [sandbox] = standInSandboxesOf(own.stack.e2b!, id)
      // Watched and within its idle deadline, the session is paused for the run limit alone.
      await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'paused' && e.data.step === 'run_limit', 60_000)
      const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=60`, { body: { text: 'still the same sandbox' } })
      expect(res.body.reply.text).toContain('still the same sandbox')
      expect(standInSandboxesOf(own.stack.e2b!, id).map((s) => s.sandboxId)).toEqual([sandbox!.sandboxId])
      expect(own.stack.e2b!.runLimitKills()).toEqual([])
    } finally {
      await stream.close()
    }
  })

  it('pauses between turns while messages keep coming, never in the middle of one, and runs the waiting ones once resumed', async () => {
    const stream = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    try {
      const [sandbox] = standInSandboxesOf(own.stack.e2b!, id)
      // A queue of turns (1.5 s of streaming each at the least, each well within the 5 s margin) outlasts a whole run.
      const sent: string[] = []
      for (let i = 0; i < 12; i++) {
        const res = await api(`/v1/sessions/${id}/messages`, { body: { text: scripted({ reply: `queued ${i}`, delayMs: 150, chunks: 10 }) } })
        sent.push(res.body.messageId as string)
      }
      for (const messageId of sent) expect((await stream.until(isReplyTo(messageId), 120_000)).data.error).toBeUndefined()
      const pauses = stream.events.flatMap((e, at) => (e.event === 'sandbox.status' && e.data.step === 'run_limit' ? [at] : []))
      // At least one while the queue was under way: after its first reply, before its last.
      const [first, last] = [sent[0]!, sent.at(-1)!].map((m) => stream.events.findIndex(isReplyTo(m)))
      expect(pauses.some((at) => at > first! && at < last!)).toBe(true)
      // Each between turns: every reply begun before it was complete before it.
      for (const at of pauses) {
        const before = stream.events.slice(0, at)
        const begun = before.filter((e) => e.event === 'message.created' && e.data.role === 'assistant').map((e) => e.data.messageId)
        for (const messageId of begun) expect(before.some((e) => e.event === 'message.completed' && e.data.messageId === messageId)).toBe(true)
      }
      expect(stream.events.some((e) => e.event === 'sandbox.status' && e.data.state === 'lost')).toBe(false)
      expect(standInSandboxesOf(own.stack.e2b!, id).map((s) => s.sandboxId)).toEqual([sandbox!.sandboxId])
      expect(own.stack.e2b!.runLimitKills()).toEqual([])
    } finally {
      await stream.close()
    }
  })
})
