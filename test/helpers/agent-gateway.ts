import { createSession, waitForStatus, type Json } from './http'
import { gatewayTokenOf, sandboxesOf } from './processes'
import { baseUrl } from './stack'

/**
 * The model gateway as the agent in a sandbox can reach it: with the gateway token it reads from
 * its own environment, calling the gateway directly, as often and as much at once as it likes.
 */

/** A new session's sandbox, ready, and the gateway token its agent can read. */
export async function agentSession(body: Json = {}, key?: string): Promise<{ id: string; token: string }> {
  const id = await createSession(body, key)
  await waitForStatus(id, 'idle', key)
  const [sandbox] = await sandboxesOf(id)
  return { id, token: gatewayTokenOf(sandbox!.opencodePid!) }
}

/** A chat completion through the gateway's `local` provider (the scripted model), as the agent sends it. */
export const agentChat = (token: string, body: Json) =>
  fetch(`${baseUrl()}/v1/gateway/local/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
