import { describe, expect, it } from 'vitest'
import { api, EventStream, finished, newIdleSession, scripted, waitFor } from './helpers'

/**
 * Structured results: a run (or a session's message) with `outputSchema` gets the agent's answer through opencode's
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

describe("structured results of a session's messages", () => {
  it('answers with the structured result when it matches, and fails the turn with structured_output_failed when it does not', async () => {
    const id = await newIdleSession({ title: 'structured messages' })
    try {
      const stream = new EventStream(id)
      const good = await api(`/v1/sessions/${id}/messages?wait=true&timeout=150`, { body: { text: answering({ verdict: 'fail', score: 1 }), outputSchema: schema } })
      expect(good.status, JSON.stringify(good.body)).toBe(200)
      expect(good.body.reply.structured).toEqual({ verdict: 'fail', score: 1 })
      await waitFor('the structured answer in the stream', () =>
        stream.events.find((e) => e.event === 'message.completed' && e.data.role === 'assistant' && e.data.structured !== undefined),
      )
      expect(stream.events.find((e) => e.event === 'message.completed' && e.data.structured !== undefined)?.data.structured).toEqual({ verdict: 'fail', score: 1 })

      const bad = await api(`/v1/sessions/${id}/messages?wait=true&timeout=150`, { body: { text: answering({ verdict: 'perhaps' }), outputSchema: schema } })
      expect(bad.status).toBe(422)
      expect(bad.body.error).toMatchObject({ code: 'structured_output_failed', message: expect.stringContaining('verdict') })
      await waitFor('the error event', () => stream.events.find((e) => e.event === 'error' && e.data.code === 'structured_output_failed'))
      // A message without a schema in the same session is plain text, unchecked.
      const plain = await api(`/v1/sessions/${id}/messages?wait=true&timeout=150`, { body: { text: scripted({ reply: 'prose is fine' }) } })
      expect(plain.status).toBe(200)
      expect(plain.body.reply).toMatchObject({ text: 'prose is fine' })
      expect(plain.body.reply.structured).toBeUndefined()
      expect((await api(`/v1/sessions/${id}/messages`, { body: { text: 'x', outputSchema: { type: 'string' } } })).status).toBe(400)
      await stream.close()
    } finally {
      await api(`/v1/sessions/${id}`, { method: 'DELETE' })
    }
  }, 400_000)
})
