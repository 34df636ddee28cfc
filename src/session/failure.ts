import type { EventErrorCode } from '../contracts'
import { errorMessage } from '../lib/log'
import { AgentUnreachableError } from '../opencode/client'
import { ConfigError } from '../opencode/config'
import { SandboxError } from '../sandbox/provider'
import { ProvisionError } from '../sandbox/provision'
import { AgentStreamError } from './agent/link'

/** Why a session failed, as its `error` event and view say it. */
export function describeFailure(err: unknown): { code: EventErrorCode; message: string } {
  if (err instanceof ProvisionError) return { code: err.code, message: err.message }
  if (err instanceof SandboxError) return { code: `sandbox_${err.code}`, message: err.message }
  if (err instanceof ConfigError) return { code: 'bad_configuration', message: err.message }
  if (err instanceof AgentUnreachableError || err instanceof AgentStreamError) return { code: 'agent_unreachable', message: err.message }
  return { code: 'internal_error', message: errorMessage(err) }
}
