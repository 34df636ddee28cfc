import type { OpencodeClient } from '@opencode-ai/sdk/v2/client'
import { AgentUnreachableError } from './client'

/**
 * The opencode session a conversation talks to: `id` while opencode still has it (retitled when
 * a title is given), else a new one with the title. Whether opencode has it is the answer to the
 * one call made either way (the rename, or a lookup), so a known session costs one round trip.
 */
export async function ensureAgentSession(
  client: OpencodeClient,
  { id, title }: { id?: string | null; title?: string | null } = {},
): Promise<string> {
  if (id) {
    const found = title ? await client.session.update({ sessionID: id, title }) : await client.session.get({ sessionID: id })
    if (found.data) return id
  }
  const created = await client.session.create({ title: title ?? undefined })
  if (!created.data) throw new AgentUnreachableError('opencode did not create a session')
  return created.data.id
}
