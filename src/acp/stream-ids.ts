import type { AnyMessage } from '@agentclientprotocol/sdk'

/**
 * Request ids of one stream to the bridge. The bridge keeps what the agent says while nobody
 * reads, so the answer to a request of a stream that ended (a prompt running when the Worker
 * restarted) reaches the next stream, whose connection numbers its own requests from 0 again:
 * each stream's requests go out with ids tagged by the stream, and an answer that does not carry
 * this stream's tag is another stream's, dropped.
 */

/** Our request with its id tagged; answers to the agent's requests and notifications go as they are. */
export function tagRequest(message: AnyMessage, tag: string): AnyMessage {
  if (!('method' in message) || !('id' in message) || message.id === null || message.id === undefined) return message
  return { ...message, id: `${tag}:${message.id}` }
}

/** The agent's message as this stream's connection knows it: an answer with its id untagged, or undefined for another stream's answer. */
export function untagAnswer(message: AnyMessage, tag: string): AnyMessage | undefined {
  if ('method' in message || !('id' in message)) return message
  const id = message.id
  if (typeof id !== 'string' || !id.startsWith(`${tag}:`)) return undefined
  const own = id.slice(tag.length + 1)
  return { ...message, id: /^\d+$/.test(own) ? Number(own) : own }
}
