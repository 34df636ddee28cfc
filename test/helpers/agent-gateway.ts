import { randomBytes } from 'node:crypto'
import { DEMO_MODEL_ID, DEMO_PRICE } from '../../local/model-server'
import { createSession, madeOnce, waitForStatus, type Json } from './http'
import { gatewayTokenOf, sandboxesOf } from './processes'
import { scripted } from './scripted'
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

/** A chat completion through the gateway's `local` provider (the scripted model), as the agent sends it (a string goes as written). */
export const agentChat = (token: string, body: Json | string) =>
  fetch(`${baseUrl()}/v1/gateway/local/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

/**
 * Calls sent all at once against a cost cap, as agents would: `perToken` from each token, each
 * bounded to 1,000 output tokens, for which the scripted model bills 10 input and 1,000 output
 * tokens at DEMO_PRICE. What came back (how many were let through, the other answers' error codes),
 * what one call was billed, and what one call is reserved for: its max_tokens at the output price,
 * and at most its whole body as input.
 */
export async function parallelCalls(tokens: string[], perToken: number, mark: string) {
  const maxTokens = 1000
  const usage = { prompt: 10, completion: maxTokens }
  const body = {
    model: DEMO_MODEL_ID,
    max_tokens: maxTokens,
    messages: [{ role: 'user', content: scripted({ reply: 'ok', usage }, `${mark} ${randomBytes(6).toString('hex')}`) }],
  }
  const answers = await Promise.all(
    tokens.flatMap((token) =>
      Array.from({ length: perToken }, async () => {
        const res = await agentChat(token, body)
        const json = (await res.json()) as Json
        return res.status === 200 ? 'granted' : (json.error?.code as string)
      }),
    ),
  )
  return {
    granted: answers.filter((a) => a === 'granted').length,
    refusals: answers.filter((a) => a !== 'granted'),
    billedPerCall: (usage.prompt * DEMO_PRICE.input + usage.completion * DEMO_PRICE.output) / 1e6,
    reservation: (JSON.stringify(body).length * DEMO_PRICE.input + maxTokens * DEMO_PRICE.output) / 1e6,
  }
}

/** One ready session and its gateway token, shared by a file's tests (madeOnce). */
export const sharedAgentSession = (body: Json = {}) => madeOnce(() => agentSession(body))
