import type { OutputSchema, SessionSpec } from '../../contracts'
import type { PlacedFile, PromptInput } from '../ports'
import type { QueuedMessage } from './queue'

/** What the agent is sent for a queued message: the message's own choices over the session's. */
export function promptFor(message: QueuedMessage, spec: SessionSpec, files: PlacedFile[]): PromptInput {
  const outputSchema = message.output_schema ? (JSON.parse(message.output_schema) as OutputSchema) : spec.outputSchema
  return {
    messageId: message.id,
    text: message.text,
    model: message.model ?? spec.model,
    agent: message.agent ?? spec.agent,
    system: spec.instructions,
    ...(files.length > 0 && { files }),
    ...(outputSchema && { outputSchema }),
  }
}
