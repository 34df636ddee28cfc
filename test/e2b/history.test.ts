import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, newIdleSession, scripted, waitForStatus, type Json } from '../helpers'

/** Undo with SANDBOX_PROVIDER=e2b: opencode's revert restores the files inside an E2B sandbox (the stand-in's). */

const E2B_KEY = 'e2b_test_key_0123456789abcdef'

let own: OwnStack

beforeAll(async () => {
  own = await startOwnStack('e2b', { SESSION_IDLE_SECONDS: '600' }, { e2bStandIn: { apiKey: E2B_KEY }, scriptedModel: true })
})

afterAll(async () => {
  await own?.close()
})

async function turn(id: string, content: string): Promise<string> {
  const text = scripted({ steps: [{ tool: { name: 'write', args: { filePath: 'notes.txt', content } } }, { text: `wrote ${content}` }] })
  const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text } })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  await waitForStatus(id, 'idle')
  return res.body.messageId as string
}

const notes = async (id: string) => (await api(`/v1/sessions/${id}/files?path=notes.txt`)).body.content as string | undefined

describe('undo on E2B (through the stand-in)', () => {
  it('takes the conversation and the workspace back to before a message, and brings them back', async () => {
    const id = await newIdleSession({ permissions: { '*': 'allow' } })
    const first = await turn(id, 'one\n')
    const second = await turn(id, 'two\n')
    expect((await api(`/v1/sessions/${id}/revert`, { body: { messageId: second } })).status).toBe(200)
    expect(await notes(id)).toBe('one\n')
    const users = ((await api(`/v1/sessions/${id}/messages`)).body as unknown as Json[]).filter((m) => m.role === 'user').map((m) => m.id)
    expect(users).toEqual([first])
    expect((await api(`/v1/sessions/${id}/unrevert`, { method: 'POST' })).status).toBe(200)
    expect(await notes(id)).toBe('two\n')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
