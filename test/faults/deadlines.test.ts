import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { api, expectAnswered, isReplyTo, newIdleSession, processAlive, sandboxesOf, sandboxHost, scripted, sendMessage, streamFromNow, type SseEvent } from '../helpers'
import { FAULTS_OPTIONS, FAULTS_SETTINGS, RECOVERY_TIMEOUT_SECONDS, TIMINGS } from './settings'

/**
 * The deadlines of "When things break" (docs/operations.md): each call to the sandbox host and to opencode
 * has one, and a hung call fails like a dropped connection instead of holding the session's work;
 * what hangs past every call's deadline is abandoned by the recovery watchdog. TIMINGS and
 * RECOVERY_TIMEOUT_SECONDS are shortened (./settings), so each bound is checked against its setting.
 */

ownStackForFile('deadlines', FAULTS_SETTINGS, FAULTS_OPTIONS)

const isStatus = (state: string) => (e: SseEvent) => e.event === 'sandbox.status' && e.data.state === state


describe("opencode's request deadline", () => {
  it('fails a request opencode never hears within agentCallMs, and the next message is answered', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const stream = await streamFromNow(id)
    // The relay in front of opencode holds whatever the Worker sends from now on; opencode's
    // event stream still flows, so only the request's own deadline can end the wait.
    await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/hold`, 'POST')
    try {
      const sent = Date.now()
      await sendMessage(id, scripted({ reply: 'never heard' }))
      // A turn that never reached opencode ends with an error and no reply.
      const failed = await stream.until((e) => e.event === 'error', 4 * TIMINGS.agentCallMs)
      expect(Date.now() - sent).toBeLessThan(TIMINGS.agentCallMs + 5_000)
      expect(failed.data).toMatchObject({ code: 'agent_unreachable', message: expect.stringContaining('could not reach opencode') })
      await stream.until((e) => e.event === 'session.status' && e.data.status === 'idle' && e.id! > failed.id!)
    } finally {
      await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/hold`, 'DELETE')
    }
    await stream.close()
    await expectAnswered(id, 'heard again')
    // The same sandbox and agent: a request that timed out is not a lost sandbox.
    expect((await sandboxesOf(id)).map((s) => s.opencodePid)).toEqual([sandbox!.opencodePid])
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe("the sandbox host's call deadline", () => {
  it('fails a call the host never answers within sandboxCallMs: the sandbox is lost, not held, and the queued message gets a new one', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const stream = await streamFromNow(id)
    // The host leaves starting this sandbox's opencode unanswered: the restart after the kill hangs there.
    await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/hang`, 'POST', { routes: ['opencode'] })
    try {
      const killed = Date.now()
      process.kill(sandbox!.opencodePid!, 'SIGKILL')
      await stream.until(isStatus('restarting'))
      // Sent once the session knows its agent is gone, so it waits in the queue for a sandbox.
      const queued = await sendMessage(id, scripted({ reply: 'on a new sandbox' }))
      const lost = await stream.until(isStatus('lost'), 4 * TIMINGS.sandboxCallMs)
      // The probe of the dead agent waits 2 s before the restart is tried.
      expect(Date.now() - killed).toBeLessThan(TIMINGS.sandboxCallMs + 2_000 + 5_000)
      expect(lost.data.reason).toContain(`did not answer within ${TIMINGS.sandboxCallMs / 1000} s`)
      // Still hung at the host: the work slot came free by the call's deadline, not the watchdog's.
      const reply = await stream.until(isReplyTo(queued), 120_000)
      expect(reply.data.text).toBe('on a new sandbox')
      expect(stream.events.filter((e) => e.event === 'error').map((e) => e.data.code)).not.toContain('sandbox_timeout')
      const [replacement] = await sandboxesOf(id)
      expect(replacement!.sandboxId).not.toBe(sandbox!.sandboxId)
    } finally {
      await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/hang`, 'DELETE')
      await stream.close()
    }
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('a recovery that hangs past every call deadline', () => {
  it('is abandoned at RECOVERY_TIMEOUT_SECONDS with sandbox_timeout, its sandbox killed, and the queued message gets a new sandbox', async () => {
    const id = await newIdleSession()
    const [sandbox] = await sandboxesOf(id)
    const pid = sandbox!.opencodePid!
    const stream = await streamFromNow(id)
    // Stopped, then its connections cut: the recovery finds a sandbox that runs and an agent that
    // takes connections but never answers, so it ends up waiting for that agent to come up, a wait
    // no single call's deadline ends.
    process.kill(pid, 'SIGSTOP')
    try {
      await sandboxHost(`/sandboxes/${sandbox!.sandboxId}/faults/cut`, 'POST')
      const queued = await sendMessage(id, scripted({ reply: 'after the hung recovery' }))
      const timeout = await stream.until((e) => e.event === 'error', (RECOVERY_TIMEOUT_SECONDS + 60) * 1000)
      expect(timeout.data).toMatchObject({
        code: 'sandbox_timeout',
        message: `recovering the sandbox took longer than ${RECOVERY_TIMEOUT_SECONDS} s and was abandoned`,
      })
      const lost = await stream.until(isStatus('lost'))
      expect(lost.id!).toBeGreaterThan(timeout.id!)
      const reply = await stream.until(isReplyTo(queued), 120_000)
      expect(reply.data.text).toBe('after the hung recovery')
      const [replacement] = await sandboxesOf(id)
      expect(replacement!.sandboxId).not.toBe(sandbox!.sandboxId)
      // The hung sandbox was killed, its stopped agent with it.
      expect((await sandboxesOf(id)).map((s) => s.sandboxId)).toEqual([replacement!.sandboxId])
      expect(processAlive(pid)).toBe(false)
    } finally {
      if (processAlive(pid)) process.kill(pid, 'SIGCONT')
      await stream.close()
    }
    expect(stream.events.filter((e) => e.event === 'error')).toHaveLength(1)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
