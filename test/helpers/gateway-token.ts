import { readFileSync } from 'node:fs'

/** The model provider a sandbox's opencode is given (the gateway's URL and its token), from its configuration as the agent sees it. */
export function gatewayProviderOf(opencodePid: number): { baseURL: string; apiKey: string } {
  const environ = readFileSync(`/proc/${opencodePid}/environ`, 'utf8').split('\0')
  const config = environ.find((kv) => kv.startsWith('OPENCODE_CONFIG_CONTENT='))!.slice('OPENCODE_CONFIG_CONTENT='.length)
  return (JSON.parse(config) as { provider: { local: { options: { baseURL: string; apiKey: string } } } }).provider.local.options
}

/** The gateway token a sandbox's opencode holds. */
export function gatewayTokenOf(opencodePid: number): string {
  return gatewayProviderOf(opencodePid).apiKey
}
