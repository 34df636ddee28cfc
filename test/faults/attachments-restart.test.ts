import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { api, EventStream, isReplyTo, newIdleSession, scripted, sendMessage, words } from '../helpers'
import { FAULTS_OPTIONS, FAULTS_SETTINGS } from './settings'

/**
 * A queued message's files live in the session's SQLite until their turn: a Worker restart (a
 * deploy) between accepting the message and sending it loses nothing, and the image still
 * reaches the model as an image.
 */

const own = ownStackForFile('attachments-restart', FAULTS_SETTINGS, FAULTS_OPTIONS)

/** A 1×1 PNG. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='

describe('a queued message with attachments', () => {
  it('survives a Worker restart and reaches the model with its image', async () => {
    const id = await newIdleSession({ title: 'queued files' })
    const before = new EventStream(id)
    await sendMessage(id, scripted({ reply: words(150, 'busy'), delayMs: 40 }))
    await before.until((e) => e.event === 'message.delta')
    const sent = await api(`/v1/sessions/${id}/messages`, {
      body: { text: scripted({ reply: 'saw the picture' }, 'restart-marker-9917'), attachments: [{ filename: 'pic.png', mime: 'image/png', data: PNG }] },
    })
    expect(sent.status).toBe(202)
    expect(sent.body.queued).toBe(true)
    await before.close()

    await own().stack.restartWorker()

    const after = new EventStream(id)
    const reply = await after.until(isReplyTo(sent.body.messageId as string), 240_000)
    await after.close()
    expect(reply.data.text).toBe('saw the picture')
    const requests = (await (await fetch(`${own().stack.model!.url.replace(/\/v1$/, '')}/_requests`)).json()) as { messages?: { role: string; content?: unknown }[] }[]
    const call = requests.find((r) => JSON.stringify(r.messages ?? []).includes('restart-marker-9917') && !JSON.stringify(r.messages).includes('Generate a title'))
    const user = call!.messages!.filter((m) => m.role === 'user').at(-1)!
    expect(user.content).toEqual(expect.arrayContaining([{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }]))
    const conversation = await api(`/v1/sessions/${id}/messages`)
    expect(conversation.body.find((m: { id: string }) => m.id === sent.body.messageId).attachments).toEqual([
      { filename: 'pic.png', mime: 'image/png', size: Buffer.from(PNG, 'base64').byteLength },
    ])
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  }, 400_000)
})
