import { createOpencodeClient, type OpencodeClient } from '@opencode-ai/sdk/v2/client'
import type { SandboxEndpoint } from '../sandbox/provider'

/** opencode's Basic auth user when OPENCODE_SERVER_PASSWORD is set. */
const USER = 'opencode'

export function authHeaders(endpoint: SandboxEndpoint, password: string): Record<string, string> {
  return { ...endpoint.headers, authorization: `Basic ${btoa(`${USER}:${password}`)}` }
}

/** fetch with a deadline: a request to an agent that hangs fails instead of holding the session. */
function fetchWithin(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const request = new Request(input, init)
    return fetch(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) })
  }
}

/**
 * A client for opencode's requests, each with a deadline (`timeoutMs`, TIMINGS agentCallMs, 30 s
 * by default). Its event stream is read apart (./event-stream).
 */
export function agentClient(endpoint: SandboxEndpoint, password: string, directory: string, opts: { timeoutMs: number }): OpencodeClient {
  return createOpencodeClient({
    baseUrl: endpoint.url,
    headers: authHeaders(endpoint, password),
    directory,
    fetch: fetchWithin(opts.timeoutMs),
  })
}

export class AgentUnreachableError extends Error {}

/**
 * Waits until opencode answers its health route with our credentials. Each probe has its own
 * short timeout: a connection accepted while opencode is still booting can hang unanswered.
 * `stopped`: the wait is pointless now (the session ended and its sandbox was killed); it returns
 * at once, and the caller checks why.
 */
export async function waitForOpencode(
  endpoint: SandboxEndpoint,
  password: string,
  opts: { timeoutMs?: number; intervalMs?: number; stopped?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000)
  const headers = authHeaders(endpoint, password)
  let last = 'no answer'
  while (Date.now() < deadline) {
    if (opts.stopped?.()) return
    try {
      const res = await fetch(`${endpoint.url}/global/health`, { headers, signal: AbortSignal.timeout(2_000) })
      if (res.ok) return
      last = `status ${res.status}`
      await res.body?.cancel()
    } catch (err) {
      last = err instanceof Error ? err.name : 'network error'
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200))
  }
  throw new AgentUnreachableError(`opencode did not become ready in time (${last})`)
}
