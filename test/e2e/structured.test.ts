import { describe, expect, it } from 'vitest'
import { api, EventStream, finished, scripted, waitFor } from './helpers'

/**
 * Structured results: a run with `outputSchema` gets the agent's answer through opencode's
 * structured output (the model calls its StructuredOutput tool), checked against the schema.
 */

const schema = {
  type: 'object',
  properties: { verdict: { enum: ['pass', 'fail'] }, score: { type: 'number' } },
  required: ['verdict', 'score'],
  additionalProperties: false,
}

const answering = (args: Record<string, unknown>) => scripted({ steps: [{ tool: { name: 'StructuredOutput', args } }] })

async function run(prompt: string) {
  const started = await api('/v1/runs', { body: { prompt, outputSchema: schema } })
  expect(started.status).toBe(202)
  return finished(started.body.id as string)
}

describe('structured results of runs', () => {
  it('succeeds with the answer as result.structured when it matches the schema', async () => {
    const done = await run(answering({ verdict: 'pass', score: 3 }))
    expect(done.status).toBe('succeeded')
    expect(done.result.structured).toEqual({ verdict: 'pass', score: 3 })
    // Clients of the run's session see the answer too, on the message that gave it.
    const log = new EventStream(done.sessionId as string)
    await waitFor('the ended session to replay its log', async () => log.ended)
    const completed = log.events.filter((e) => e.event === 'message.completed' && e.data.structured !== undefined)
    expect(completed.map((e) => e.data.structured)).toEqual([{ verdict: 'pass', score: 3 }])
  })

  it('fails with structured_output_failed when the answer does not match, or there is none', async () => {
    const [mismatched, textOnly] = await Promise.all([run(answering({ verdict: 'maybe', score: 'high' })), run(scripted({ reply: 'just prose' }))])
    expect(mismatched.status).toBe('failed')
    expect(mismatched.error).toMatchObject({ code: 'structured_output_failed', message: expect.stringContaining('verdict') })
    expect(mismatched.result.structured).toBeUndefined()
    expect(textOnly.status).toBe('failed')
    expect(textOnly.error).toMatchObject({ code: 'structured_output_failed', message: expect.stringContaining('without a structured answer') })
  })

  it('refuses a schema that is not a JSON Schema of an object, or is too big, with 400', async () => {
    const bad = [
      { type: 'string' },
      'not an object',
      { type: 'object', properties: { a: { type: 'bogus' } } },
      { type: 'object', properties: { a: { $ref: 'https://example.com/schema.json' } } },
      { type: 'object', description: 'x'.repeat(64 * 1024) },
    ]
    for (const outputSchema of bad) {
      const res = await api('/v1/runs', { body: { prompt: 'hello', outputSchema } })
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('validation_failed')
    }
  })
})
