import { describe, expect, it } from 'vitest'
import { askedHere, askerOf, askEvent } from './approvals'

const github = { owner: 'Acme', repo: 'widgets', issue: 3 }
const slack = { channel: 'C1', threadTs: '17.1', team: 'T1' }
const none = { github: null, slack: null, request: {} }

describe('who answers a run’s asks', () => {
  it('the people where it started, else its callback, else nobody (asks become denials)', () => {
    expect(askerOf({ ...none, github }, {})).toBe('github')
    expect(askerOf({ ...none, slack }, { T1: ['U1'] })).toBe('slack')
    // A team that names no approvers has nobody to answer in its threads.
    expect(askerOf({ ...none, slack }, { T2: ['U1'] })).toBeUndefined()
    expect(askerOf({ ...none, slack: { channel: 'C1', threadTs: '17.1' } }, { T1: ['U1'] })).toBeUndefined()
    expect(askerOf({ ...none, request: { callback: { url: 'https://example.com/hook' } } }, {})).toBe('callback')
    expect(askerOf(none, {})).toBeUndefined()
  })

  it('an answer counts only from where the run asked', () => {
    expect(askedHere({ github, slack: null }, { kind: 'github', owner: 'acme', repo: 'WIDGETS', issue: 3 })).toBe(true)
    expect(askedHere({ github, slack: null }, { kind: 'github', owner: 'acme', repo: 'widgets', issue: 4 })).toBe(false)
    expect(askedHere({ github, slack: null }, { kind: 'slack', channel: 'C1', threadTs: '17.1', permissionId: 'p' })).toBe(false)
    expect(askedHere({ github: null, slack }, { kind: 'slack', channel: 'C1', threadTs: '17.1', permissionId: 'p' })).toBe(true)
    expect(askedHere({ github: null, slack }, { kind: 'slack', channel: 'C1', threadTs: '17.2', permissionId: 'p' })).toBe(false)
  })

  it("the callback's event says where its tenant answers", () => {
    expect(askEvent({ id: 'run_1', tenant: 't_1', sessionId: 'ses_1' }, { permissionId: 'per_1', permission: 'bash', patterns: ['ls'] })).toEqual({
      event: 'permission.asked',
      runId: 'run_1',
      tenant: 't_1',
      sessionId: 'ses_1',
      permission: { id: 'per_1', permission: 'bash', patterns: ['ls'] },
      answer: { method: 'POST', path: '/v1/sessions/ses_1/permissions/per_1' },
    })
  })
})
