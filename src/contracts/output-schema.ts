import { z } from '@hono/zod-openapi'

/** A run's JSON Schema, serialized, is at most this long: it goes to the model with every call of the run. */
export const MAX_OUTPUT_SCHEMA_BYTES = 64 * 1024

/**
 * The checker for a JSON Schema, or why there is none. opencode hands the schema to the model
 * as a tool's parameters and takes whatever the model calls it with, so the Worker checks the
 * answer itself, with zod (no code generation: Workers allow no eval). A schema zod cannot
 * check is refused up front rather than left unchecked.
 */
export function schemaChecker(schema: Record<string, unknown>): { check: z.ZodType } | { problem: string } {
  try {
    return { check: z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) }
  } catch (err) {
    return { problem: err instanceof Error ? err.message : String(err) }
  }
}

/** Why `value` does not match `schema`, or nothing when it does. */
export function structuredMismatch(schema: Record<string, unknown>, value: unknown): string | undefined {
  const checker = schemaChecker(schema)
  if ('problem' in checker) return checker.problem
  const parsed = checker.check.safeParse(value)
  if (parsed.success) return undefined
  return parsed.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ')
}

export const OutputSchema = z
  .record(z.string(), z.unknown())
  .superRefine((schema, ctx) => {
    // Checked before anything else reads it: a huge or cyclic value must not be walked.
    const size = new TextEncoder().encode(JSON.stringify(schema)).byteLength
    if (size > MAX_OUTPUT_SCHEMA_BYTES) return void ctx.addIssue({ code: 'custom', message: `at most ${MAX_OUTPUT_SCHEMA_BYTES} bytes as JSON` })
    // The model answers through a tool call, whose arguments are always an object.
    if (schema.type !== 'object') return void ctx.addIssue({ code: 'custom', message: 'the schema must describe an object (`"type": "object"`)' })
    const checker = schemaChecker(schema)
    if ('problem' in checker) ctx.addIssue({ code: 'custom', message: `not a JSON Schema this API can check: ${checker.problem}` })
  })
  .openapi('OutputSchema', { example: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] } })

export type OutputSchema = z.infer<typeof OutputSchema>

/**
 * What an agent's structured answer to an outputSchema comes to, for a run and a message alike:
 * the answer, when it matches; else why the work fails. Without a schema, nothing is kept.
 */
export function structuredOutcome(
  schema: OutputSchema | undefined,
  structured: unknown,
): { structured?: unknown; error?: { code: 'structured_output_failed'; message: string } } {
  if (!schema) return {}
  if (structured === undefined) {
    return { error: { code: 'structured_output_failed', message: 'the agent ended without a structured answer (it did not call its StructuredOutput tool)' } }
  }
  const mismatch = structuredMismatch(schema, structured)
  if (mismatch) return { error: { code: 'structured_output_failed', message: `the agent's structured answer does not match outputSchema: ${mismatch}` } }
  return { structured }
}
