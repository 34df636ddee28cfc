import { describe, expect, it } from 'vitest'
import { optionFor } from './agent'

describe('optionFor', () => {
  const request = {
    sessionId: 's',
    toolCall: { toolCallId: 't' },
    options: [
      { kind: 'allow_always' as const, name: 'Always Allow', optionId: 'allow_always' },
      { kind: 'allow_once' as const, name: 'Allow', optionId: 'allow' },
      { kind: 'reject_once' as const, name: 'Reject', optionId: 'reject' },
    ],
  }

  it('picks the agent’s option of the reply’s kind, the nearest one when it has not that kind, none when it has neither', () => {
    expect(optionFor(request, 'once')).toBe('allow')
    expect(optionFor(request, 'always')).toBe('allow_always')
    expect(optionFor(request, 'reject')).toBe('reject')
    expect(optionFor({ ...request, options: [request.options[1]!] }, 'always')).toBe('allow')
    expect(optionFor({ ...request, options: [request.options[1]!] }, 'reject')).toBeUndefined()
  })
})
