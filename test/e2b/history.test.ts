import { describe, expect, it } from 'vitest'
import { api, newIdleSession, type Json } from '../helpers'
import { e2bStackForFile, notesOf, writeNotes } from './notes-stack'

/** Undo with SANDBOX_PROVIDER=e2b: opencode's revert restores the files inside an E2B sandbox (the stand-in's). */

e2bStackForFile()

describe('undo on E2B (through the stand-in)', () => {
  it('takes the conversation and the workspace back to before a message, and brings them back', async () => {
    const id = await newIdleSession({ permissions: { '*': 'allow' } })
    const first = await writeNotes(id, 'one\n')
    const second = await writeNotes(id, 'two\n')
    expect((await api(`/v1/sessions/${id}/revert`, { body: { messageId: second } })).status).toBe(200)
    expect(await notesOf(id)).toBe('one\n')
    const users = ((await api(`/v1/sessions/${id}/messages`)).body as unknown as Json[]).filter((m) => m.role === 'user').map((m) => m.id)
    expect(users).toEqual([first])
    expect((await api(`/v1/sessions/${id}/unrevert`, { method: 'POST' })).status).toBe(200)
    expect(await notesOf(id)).toBe('two\n')
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
