import { structuredMismatch, type OutputSchema } from '../contracts'

export const STRUCTURED_OUTPUT_FAILED = 'structured_output_failed'

/**
 * What a run makes of its agent's structured answer: the answer, when the run asked for one and
 * it matches; else why the run fails. A run without a schema keeps none.
 */
export function structuredOutcome(
  schema: OutputSchema | undefined,
  structured: unknown,
): { structured?: unknown; error?: { code: typeof STRUCTURED_OUTPUT_FAILED; message: string } } {
  if (!schema) return {}
  if (structured === undefined) {
    return { error: { code: STRUCTURED_OUTPUT_FAILED, message: 'the agent ended without a structured answer (it did not call its StructuredOutput tool)' } }
  }
  const mismatch = structuredMismatch(schema, structured)
  if (mismatch) return { error: { code: STRUCTURED_OUTPUT_FAILED, message: `the agent's structured answer does not match outputSchema: ${mismatch}` } }
  return { structured }
}
