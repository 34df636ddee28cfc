import type { Settings } from '../settings'
import { LocalSandboxProvider } from './local'
import { SandboxError, type SandboxProvider } from './provider'

export function sandboxProvider(settings: Settings): SandboxProvider {
  if (settings.provider === 'local') return new LocalSandboxProvider(settings.localSandboxUrl, settings.localSandboxToken)
  throw new SandboxError('failed', 'SANDBOX_PROVIDER=e2b is not available in this build yet; use local')
}
