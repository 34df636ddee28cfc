import { describe, expect, it } from 'vitest'
import { sessionKeptUntil, THREAD_SESSION_KEPT_MS, threadTurn } from './thread-turn'

const NOW = 1_700_000_000_000

describe('sessionKeptUntil', () => {
  it('keeps the session of a Slack run whose turn ended, for a day', () => {
    expect(sessionKeptUntil({ status: 'succeeded', inSlackThread: true, hadSession: true }, NOW)).toBe(NOW + THREAD_SESSION_KEPT_MS)
    expect(sessionKeptUntil({ status: 'failed', inSlackThread: true, hadSession: true }, NOW)).toBe(NOW + THREAD_SESSION_KEPT_MS)
  })

  it.each([
    ['a run not started in Slack', { status: 'succeeded', inSlackThread: false, hadSession: true }],
    ['a run cancelled', { status: 'cancelled', inSlackThread: true, hadSession: true }],
    ['a run timed out', { status: 'timed_out', inSlackThread: true, hadSession: true }],
    ['a run whose session was never made', { status: 'failed', inSlackThread: true, hadSession: false }],
  ] as const)('ends it at once for %s', (_, run) => {
    expect(sessionKeptUntil(run, NOW)).toBeNull()
  })
})

describe('threadTurn', () => {
  it('continues a run whose turn ended while its session is kept', () => {
    expect(threadTurn({ final: true, delivering: false, sessionKeptUntil: NOW + 1 }, NOW)).toBe('continue')
  })

  it('takes nothing while a turn runs, or its result is still to be posted', () => {
    expect(threadTurn({ final: false, delivering: false, sessionKeptUntil: null }, NOW)).toBe('busy')
    expect(threadTurn({ final: true, delivering: true, sessionKeptUntil: NOW + 1 }, NOW)).toBe('busy')
  })

  it('starts afresh once the session is no longer kept, or never was', () => {
    expect(threadTurn({ final: true, delivering: false, sessionKeptUntil: NOW }, NOW)).toBe('ended')
    expect(threadTurn({ final: true, delivering: false, sessionKeptUntil: null }, NOW)).toBe('ended')
  })
})
