import { bundledSetting } from './bundled-settings'
import type { Bindings } from '../env'
import { apiKeys } from './settings'

/** One entry for the model: any one of these settings gives agents a model. */
export const MODEL_SETTINGS = 'a provider key (*_API_KEY), OPENCODE_CONFIG or DEFAULT_MODEL'

/**
 * The settings a deployment lacks before it can start a session, by name, never a value: the
 * API's keys, the configured sandbox provider's own settings, and a model for the agents.
 */
export function missingSettings(env: Bindings): string[] {
  const missing: string[] = []
  if (apiKeys(env).length === 0) missing.push('API_KEYS')
  if (env.SANDBOX_PROVIDER === 'e2b') {
    if (!env.E2B_API_KEY) missing.push('E2B_API_KEY')
  } else if (env.SANDBOX_PROVIDER === 'local') {
    if (!env.LOCAL_SANDBOX_URL) missing.push('LOCAL_SANDBOX_URL')
  } else {
    missing.push('SANDBOX_PROVIDER')
  }
  const providerKey = Object.entries(env as Record<string, unknown>).some(
    ([name, value]) => /_API_KEY$/.test(name) && name !== 'E2B_API_KEY' && typeof value === 'string' && value !== '',
  )
  if (!providerKey && !bundledSetting(env, 'OPENCODE_CONFIG') && !env.DEFAULT_MODEL) missing.push(MODEL_SETTINGS)
  return missing
}
