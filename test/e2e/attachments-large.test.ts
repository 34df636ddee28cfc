import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_ATTACHMENT_BYTES } from '../../src/contracts'
import { api, createSession, EventStream, isReplyTo, modelBase, scripted, type Json } from './helpers'

/**
 * A message's files are put in the sandbox's files, byte for byte, and the agent is given their
 * paths: what it reads there is what the client sent, for files filling the whole 10 MiB.
 */

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

/** Text of `bytes` bytes, multi-byte characters and many lines, different at every line. */
function textOf(bytes: number, tag: string): Buffer {
  const lines: string[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const line = `${tag};${i};prix 12,50 €;ünïcödé ✓\n`
    lines.push(line)
    size += Buffer.byteLength(line)
  }
  return Buffer.from(lines.join('')).subarray(0, bytes - 1)
}

describe("a message's files in the sandbox", () => {
  let id: string
  beforeAll(async () => {
    id = await createSession({ title: 'large attachments', permissions: { bash: 'allow' } })
  })
  afterAll(async () => {
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('arrive byte for byte, and the agent reads them by path', async () => {
    const png = Buffer.from(PNG, 'base64')
    const json = Buffer.from(JSON.stringify({ rows: textOf(3 * 1024 * 1024, 'j').toString() }))
    // The three together fill the allowance to its last byte.
    const csv = textOf(MAX_ATTACHMENT_BYTES - json.byteLength - png.byteLength + 1, 'row')
    const stream = new EventStream(id)
    const command = 'cd ~/attachments/msg_*/ && sha256sum * && wc -c < 1-data.csv'
    const sent = await api(`/v1/sessions/${id}/messages`, {
      body: {
        text: scripted({ steps: [{ tool: { name: 'bash', args: { command, description: 'check the files' } } }, { text: 'checked' }] }, 'large-files-4410'),
        attachments: [
          { filename: 'data.csv', mime: 'text/csv', data: csv.toString('base64') },
          { filename: 'rows.json', mime: 'application/json', data: json.toString('base64') },
          { filename: 'pic.png', mime: 'image/png', data: PNG },
        ],
      },
    })
    expect(sent.status).toBe(202)
    const messageId = sent.body.messageId as string
    await stream.until(isReplyTo(messageId), 240_000)
    await stream.close()

    const printed = stream.events.filter((e) => e.event === 'tool.updated' && e.data.state === 'completed').at(-1)?.data.output as string
    expect(printed).toContain(`${sha256(csv)}  1-data.csv`)
    expect(printed).toContain(`${sha256(json)}  2-rows.json`)
    expect(printed).toContain(`${sha256(png)}  3-pic.png`)
    expect(printed).toContain(String(csv.byteLength))
    const created = stream.events.find((e) => e.event === 'message.created' && e.data.messageId === messageId)
    expect(created?.data.attachments).toEqual([
      { filename: 'data.csv', mime: 'text/csv', size: csv.byteLength },
      { filename: 'rows.json', mime: 'application/json', size: json.byteLength },
      { filename: 'pic.png', mime: 'image/png', size: png.byteLength },
    ])

    // The model was told where the text files lie (opencode read their start there), and got the picture as a picture.
    const calls = ((await (await fetch(`${modelBase()}/_requests`)).json()) as { messages?: { role: string; content?: unknown }[] }[]).filter((r) =>
      JSON.stringify(r.messages ?? []).includes('large-files-4410'),
    )
    const user = JSON.stringify(calls[0]!.messages!.filter((m) => m.role === 'user').at(-1)!.content)
    expect(user).toContain(`/attachments/${messageId}/1-data.csv`)
    expect(user).toContain('row;0;prix 12,50 €;ünïcödé ✓')
    expect(user).toContain(`/attachments/${messageId}/2-rows.json`)
    expect(JSON.parse(user) as Json[]).toEqual(expect.arrayContaining([{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }]))
  }, 300_000)
})
