import type { Event as AgentEvent } from '@opencode-ai/sdk/v2/client'
import { createParser } from 'eventsource-parser'
import type { SandboxEndpoint } from '../sandbox/provider'
import { authHeaders } from './client'

/**
 * opencode's event stream, opened with one fetch (the SDK's subscription reads and hands on one
 * event at a time; a burst of thousands is read here in large pieces instead). `signal` ends it.
 */
export async function fetchAgentEvents(
  endpoint: SandboxEndpoint,
  password: string,
  directory: string,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const url = new URL(`${endpoint.url}/event`)
  url.searchParams.set('directory', directory)
  const res = await fetch(url, { headers: { ...authHeaders(endpoint, password), accept: 'text/event-stream' }, signal })
  if (!res.ok || !res.body) {
    await res.body?.cancel()
    throw new Error(`opencode answered its event stream with ${res.status}`)
  }
  return res.body
}

/**
 * Splits opencode's SSE text into its events, whatever the sizes of the pieces: each call returns
 * the events completed by the text it was given, in order. A data line that is not JSON is none
 * of opencode's events (it writes JSON only) and is passed over.
 */
export function agentEventSplitter(): (text: string) => AgentEvent[] {
  let done: AgentEvent[] = []
  const parser = createParser({
    onEvent: (message) => {
      try {
        done.push(JSON.parse(message.data) as AgentEvent)
      } catch {
        // not an event of opencode's: see above
      }
    },
  })
  return (text) => {
    parser.feed(text)
    const batch = done
    done = []
    return batch
  }
}
