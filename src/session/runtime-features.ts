import { fail, type Outcome } from '../lib/errors'
import { runtimeSupports, unsupportedMessage, type RuntimeFeature, type SendMessageInput, type SessionSpec } from '../contracts'

/** 400 `unsupported_for_runtime` when the session's runtime lacks `feature`. */
export function lacks(spec: SessionSpec, feature: RuntimeFeature): Outcome<never> | undefined {
  const runtime = spec.runtime
  if (runtime && !runtimeSupports(runtime, feature)) return fail('unsupported_for_runtime', unsupportedMessage(runtime, feature))
  return undefined
}

/** What of a message the session's runtime cannot do (an agent profile, structured output, files). */
export function messageRefusal(spec: SessionSpec, input: SendMessageInput): Outcome<never> | undefined {
  return (
    (input.agent !== undefined ? lacks(spec, 'agentProfiles') : undefined) ??
    (input.outputSchema !== undefined ? lacks(spec, 'structuredOutput') : undefined) ??
    ((input.attachments?.files.length ?? 0) > 0 ? lacks(spec, 'attachments') : undefined)
  )
}
