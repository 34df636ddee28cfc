import { afterAll, beforeAll, expect } from 'vitest'
import { api, scripted, waitForStatus, type Json } from '../helpers'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'

const E2B_KEY = 'e2b_test_key_0123456789abcdef'

/**
 * A stack of this file's own on the E2B stand-in with the scripted model, started before its
 * tests and closed after them; the getter answers it.
 */
export function e2bStackForFile(): () => OwnStack {
  let own: OwnStack | undefined
  beforeAll(async () => {
    own = await startOwnStack('e2b', { SESSION_IDLE_SECONDS: '600' }, { e2bStandIn: { apiKey: E2B_KEY }, scriptedModel: true })
  })
  afterAll(async () => {
    await own?.close()
  })
  return () => own!
}

/** A turn in which the agent writes `content` to notes.txt; answers the user message's id once the session is idle. */
export async function writeNotes(id: string, content: string): Promise<string> {
  const text = scripted({ steps: [{ tool: { name: 'write', args: { filePath: 'notes.txt', content } } }, { text: `wrote ${content}` }] })
  const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text } })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  await waitForStatus(id, 'idle')
  return res.body.messageId as string
}

/** notes.txt of the session's workspace, as GET /files reads it. */
export const notesOf = async (id: string) => (await api(`/v1/sessions/${id}/files?path=notes.txt`)).body.content as string | undefined

/** A turn in which the agent runs `command` in its bash tool and repeats what it printed. */
export async function agentRuns(id: string, command: string): Promise<string> {
  const text = scripted({ steps: [{ tool: { name: 'bash', args: { command, description: 'look around' } } }, { text: 'saw: {{tool_result}}' }] })
  const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text } })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  await waitForStatus(id, 'idle')
  return (res.body.reply as Json).text as string
}
