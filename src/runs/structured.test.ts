import { describe, expect, it } from 'vitest'
import { structuredOutcome } from './structured'

const schema = {
  type: 'object',
  properties: { verdict: { enum: ['pass', 'fail'] }, score: { type: 'number' } },
  required: ['verdict', 'score'],
  additionalProperties: false,
}

describe('structuredOutcome', () => {
  it('keeps a matching answer', () => {
    expect(structuredOutcome(schema, { verdict: 'pass', score: 3 })).toEqual({ structured: { verdict: 'pass', score: 3 } })
  })

  it('fails a run whose agent answered in text only', () => {
    expect(structuredOutcome(schema, undefined).error).toMatchObject({ code: 'structured_output_failed', message: expect.stringContaining('without a structured answer') })
  })

  it('fails a run whose answer does not match, saying where', () => {
    const { structured, error } = structuredOutcome(schema, { verdict: 'maybe', score: 'high' })
    expect(structured).toBeUndefined()
    expect(error?.code).toBe('structured_output_failed')
    expect(error?.message).toContain('verdict')
    expect(error?.message).toContain('score')
    expect(structuredOutcome(schema, { verdict: 'pass', score: 1, extra: true }).error?.message).toContain('extra')
  })

  it('ignores what a run without a schema was given', () => {
    expect(structuredOutcome(undefined, { anything: 1 })).toEqual({})
  })
})
