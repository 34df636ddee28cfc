import type { Settings } from '../config/settings'
import { E2BSandboxProvider } from './e2b'
import { LocalSandboxProvider } from './local'
import type { SandboxProvider } from './provider'

export function sandboxProvider(settings: Settings): SandboxProvider {
  if (settings.provider === 'local') return new LocalSandboxProvider(settings.localSandboxUrl, settings.localSandboxToken, settings.timings.sandboxCallMs)
  return new E2BSandboxProvider(settings.e2b)
}
