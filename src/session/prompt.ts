import type { AttachmentFile, SessionSpec } from '../contracts'
import type { PromptInput } from './ports'
import type { QueuedMessage } from './queue'

/** What the agent is sent for a queued message: the message's own choices over the session's. */
export function promptFor(message: QueuedMessage, spec: SessionSpec, files: AttachmentFile[]): PromptInput {
  return {
    messageId: message.id,
    text: message.text,
    model: message.model ?? spec.model,
    agent: message.agent ?? spec.agent,
    system: spec.instructions,
    ...(files.length > 0 && { files }),
    ...(spec.outputSchema && { outputSchema: spec.outputSchema }),
  }
}
