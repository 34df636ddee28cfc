import { describe, expect, it } from 'vitest'
import { acceptMessage, idleReason, turnOutcome, turnStep, type TurnFacts, type TurnInput, type TurnStep } from './rules'

const fresh: TurnFacts = { seenBusy: false, aborted: false, hasReply: false }
const busy: TurnFacts = { ...fresh, seenBusy: true }
const replied: TurnFacts = { ...fresh, hasReply: true }

describe('how a turn moves', () => {
  const table: [string, TurnFacts, TurnInput, TurnStep][] = [
    ['busy marks the turn as picked up', fresh, { kind: 'agent_busy' }, { seenBusy: true }],
    ['idle before busy is opencode not having started yet', fresh, { kind: 'agent_idle' }, { seenBusy: false }],
    ['idle after busy ends the turn', busy, { kind: 'agent_idle' }, { seenBusy: true, end: {} }],
    [
      'an error before the agent started fails the turn',
      fresh,
      { kind: 'agent_error', message: 'ProviderAuthError: bad key' },
      { seenBusy: false, end: { error: { code: 'agent_unreachable', message: 'ProviderAuthError: bad key' } } },
    ],
    ['an error while working waits for the idle that follows', busy, { kind: 'agent_error', message: 'x' }, { seenBusy: true }],
    [
      'a refused prompt fails the turn',
      fresh,
      { kind: 'prompt_refused', message: 'opencode refused the message (400)' },
      { seenBusy: false, end: { error: { code: 'agent_unreachable', message: 'opencode refused the message (400)' } } },
    ],
    ['an abort opencode never heard ends the turn', busy, { kind: 'abort_unheard' }, { seenBusy: true, end: {} }],
    [
      'a restarted agent interrupts the turn',
      busy,
      { kind: 'agent_restarted' },
      { seenBusy: true, end: { error: { code: 'interrupted', message: 'the agent stopped in the middle of this turn' } } },
    ],
    ['after a gap, an agent still busy keeps the turn', fresh, { kind: 'resynced', agentBusy: true }, { seenBusy: true }],
    ['after a gap, an idle agent that had started has finished', busy, { kind: 'resynced', agentBusy: false }, { seenBusy: true, end: {} }],
    ['after a gap, a reply already in means it finished', replied, { kind: 'resynced', agentBusy: false }, { seenBusy: false, end: {} }],
    ['after a gap, a turn never seen running may not have reached opencode', fresh, { kind: 'resynced', agentBusy: false }, { seenBusy: false }],
    [
      'a lost sandbox interrupts the turn',
      busy,
      { kind: 'sandbox_lost', reason: 'the sandbox is gone' },
      { seenBusy: true, end: { error: { code: 'interrupted', message: 'the turn was lost: the sandbox is gone' } } },
    ],
    [
      'an ended session ends the turn as a conflict',
      fresh,
      { kind: 'session_over', status: 'ended' },
      { seenBusy: false, end: { error: { code: 'conflict', message: 'the session ended' } } },
    ],
  ]
  it.each(table)('%s', (_name, facts, input, step) => {
    expect(turnStep(facts, input)).toEqual(step)
  })
})

describe('how an ended turn is recorded', () => {
  it.each([
    ['done', false, undefined, { state: 'done' }],
    ['failed', false, { code: 'agent_unreachable', message: 'x' }, { state: 'failed', failure: 'agent_unreachable' }],
    ['interrupted: the agent failed it', false, { code: 'interrupted', message: 'x' }, { state: 'failed', failure: 'agent_unreachable' }],
    ['aborted, even when it ended in an error', true, { code: 'conflict', message: 'x' }, { state: 'aborted', failure: 'conflict' }],
    ['aborted cleanly', true, undefined, { state: 'aborted' }],
  ] as const)('%s', (_name, aborted, error, outcome) => {
    expect(turnOutcome(aborted, error)).toEqual(outcome)
  })
})

describe('accepting a message', () => {
  it('waits behind a running turn or a session that is not idle, and runs at once otherwise', () => {
    expect(acceptMessage(undefined, { idle: true })).toEqual({ queued: false, stopTurn: false })
    expect(acceptMessage('queue', { idle: false })).toEqual({ queued: true, stopTurn: false })
    expect(acceptMessage('queue', { idle: false, turn: { aborted: false } })).toEqual({ queued: true, stopTurn: false })
  })

  it('stops the running turn for a steered message, once', () => {
    expect(acceptMessage('steer', { idle: false, turn: { aborted: false } })).toEqual({ queued: true, stopTurn: true })
    expect(acceptMessage('steer', { idle: false, turn: { aborted: true } })).toEqual({ queued: true, stopTurn: false })
    expect(acceptMessage('steer', { idle: true })).toEqual({ queued: false, stopTurn: false })
    expect(acceptMessage('steer', { idle: false })).toEqual({ queued: true, stopTurn: false })
  })

  it('says why the session is idle again after a stopped turn', () => {
    expect(idleReason({ aborted: false, steered: false })).toBeUndefined()
    expect(idleReason({ aborted: true, steered: false })).toBe('aborted')
    expect(idleReason({ aborted: true, steered: true })).toBe('steered')
  })
})
