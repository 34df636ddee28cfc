import { describe, expect, it } from 'vitest'
import { MAX_OUTPUT_SCHEMA_BYTES, OutputSchema, structuredOutcome } from './output-schema'

const messages = (value: unknown) => OutputSchema.safeParse(value).error?.issues.map((i) => i.message) ?? []

describe('OutputSchema', () => {
  it('takes a JSON Schema of an object, with local references', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { items: { type: 'array', items: { $ref: '#/$defs/item' } } },
      $defs: { item: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
    }
    expect(OutputSchema.safeParse(schema).success).toBe(true)
  })

  it('refuses what is not an object schema', () => {
    expect(messages({ type: 'string' })).toEqual([expect.stringContaining('describe an object')])
    expect(messages({ properties: {} })).toEqual([expect.stringContaining('describe an object')])
    expect(OutputSchema.safeParse([{ type: 'object' }]).success).toBe(false)
    expect(OutputSchema.safeParse('{"type":"object"}').success).toBe(false)
  })

  it('refuses schemas it could not check an answer against', () => {
    expect(messages({ type: 'object', properties: { a: { type: 'bogus' } } })).toEqual([expect.stringContaining('bogus')])
    expect(messages({ type: 'object', properties: { a: { $ref: 'https://example.com/s.json' } } })).toEqual([expect.stringContaining('External $ref')])
    expect(messages({ type: 'object', if: { required: ['a'] }, then: { required: ['b'] } })).toEqual([expect.stringContaining('Conditional')])
  })

  it('refuses a schema over 64 KiB', () => {
    const big = { type: 'object', description: 'x'.repeat(MAX_OUTPUT_SCHEMA_BYTES) }
    expect(messages(big)).toEqual([expect.stringContaining(`${MAX_OUTPUT_SCHEMA_BYTES} bytes`)])
  })
})

const verdictSchema = {
  type: 'object',
  properties: { verdict: { enum: ['pass', 'fail'] }, score: { type: 'number' } },
  required: ['verdict', 'score'],
  additionalProperties: false,
}

describe('structuredOutcome', () => {
  it('keeps a matching answer', () => {
    expect(structuredOutcome(verdictSchema, { verdict: 'pass', score: 3 })).toEqual({ structured: { verdict: 'pass', score: 3 } })
  })

  it('fails a run whose agent answered in text only', () => {
    expect(structuredOutcome(verdictSchema, undefined).error).toMatchObject({ code: 'structured_output_failed', message: expect.stringContaining('without a structured answer') })
  })

  it('fails a run whose answer does not match, saying where', () => {
    const { structured, error } = structuredOutcome(verdictSchema, { verdict: 'maybe', score: 'high' })
    expect(structured).toBeUndefined()
    expect(error?.code).toBe('structured_output_failed')
    expect(error?.message).toContain('verdict')
    expect(error?.message).toContain('score')
    expect(structuredOutcome(verdictSchema, { verdict: 'pass', score: 1, extra: true }).error?.message).toContain('extra')
  })

  it('ignores what a run without a schema was given', () => {
    expect(structuredOutcome(undefined, { anything: 1 })).toEqual({})
  })
})
