import { readFileSync } from 'node:fs'

/** The gateway token a sandbox's opencode holds, from its configuration as the agent sees it. */
export function gatewayTokenOf(opencodePid: number): string {
  const environ = readFileSync(`/proc/${opencodePid}/environ`, 'utf8').split('\0')
  const config = environ.find((kv) => kv.startsWith('OPENCODE_CONFIG_CONTENT='))!.slice('OPENCODE_CONFIG_CONTENT='.length)
  return (JSON.parse(config) as { provider: { local: { options: { apiKey: string } } } }).provider.local.options.apiKey
}
