import { describe, expect, it } from 'vitest'
import { startChecks } from './start-checks'

describe('startChecks', () => {
  it('a warm sandbox with its agent session made ahead and no title: nothing to ask, ready before the attach', () => {
    expect(startChecks({ warm: true, agentSessionId: 'ses_1', title: null })).toEqual({ waitForAgent: false, knownAgentSession: 'ses_1', readyBeforeAttach: true })
  })

  it('a warm sandbox and a title: the agent session is found and retitled, the agent not polled', () => {
    expect(startChecks({ warm: true, agentSessionId: 'ses_1', title: 'Fix the build' })).toEqual({ waitForAgent: false, knownAgentSession: undefined, readyBeforeAttach: true })
  })

  it('a warm sandbox without a session made ahead: one is made', () => {
    expect(startChecks({ warm: true, title: null })).toEqual({ waitForAgent: false, knownAgentSession: undefined, readyBeforeAttach: true })
  })

  it('a sandbox made for the session: its agent is waited for and its session made, and only then is it ready', () => {
    expect(startChecks({ warm: false, agentSessionId: 'ses_1', title: null })).toEqual({ waitForAgent: true, knownAgentSession: undefined, readyBeforeAttach: false })
    expect(startChecks({ warm: false, title: 'x' })).toEqual({ waitForAgent: true, knownAgentSession: undefined, readyBeforeAttach: false })
  })
})
