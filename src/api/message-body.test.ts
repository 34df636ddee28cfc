import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { MAX_ATTACHMENT_BYTES } from '../contracts'
import { FileContent } from './attachments'
import { DATA_STAND_IN, readMessageBody, type FileSink } from './message-body'

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])
const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64')

/** Where decoded files go in these tests: kept, in order, by file. */
class KeptFiles implements FileSink {
  readonly files: Uint8Array[][] = []
  readonly ended: number[] = []
  async write(file: number, bytes: Uint8Array) {
    ;(this.files[file] ??= []).push(bytes.slice())
  }
  async end(file: number) {
    this.ended.push(file)
  }
  bytes(file: number): Buffer {
    return Buffer.concat(this.files[file] ?? [])
  }
}

/** `text` as a body arriving in pieces of `size` bytes. */
function body(text: string, size: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  return new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.length; at += size) controller.enqueue(bytes.slice(at, at + size))
      controller.close()
    },
  })
}

describe("a message's body as it streams in", () => {
  it('hands each file on decoded, however the body is cut, and leaves the rest with a stand-in for each file', async () => {
    const big = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) % 256)
    big.set(PNG)
    const sent = {
      text: 'look "at" these ✓',
      attachments: [
        { filename: 'shot.png', mime: 'image/png', data: b64(big) },
        { data: b64('# héllo'), mime: 'text/markdown', filename: 'notes.md' },
      ],
      model: 'x/y',
    }
    const text = JSON.stringify(sent).replace('"# ', '"# ').replaceAll('/', '\\/')
    for (const size of [2, 7, 4096, text.length]) {
      const sink = new KeptFiles()
      const { rest, sizes } = await readMessageBody(body(text, size), sink)
      expect(sink.bytes(0).equals(Buffer.from(big))).toBe(true)
      expect(sink.bytes(1).toString()).toBe('# héllo')
      expect(sink.ended).toEqual([0, 1])
      expect(sizes).toEqual([big.byteLength, 8])
      const left = JSON.parse(new TextDecoder().decode(rest))
      expect(left).toEqual({ ...sent, attachments: sent.attachments.map((a) => ({ ...a, data: DATA_STAND_IN })) })
    }
  })

  it('refuses a file that is not what its type says, naming it, whichever of its fields comes first', async () => {
    for (const file of [
      { filename: 'x.png', mime: 'image/png', data: b64('not a png') },
      { data: b64('not a png'), filename: 'x.png', mime: 'image/png' },
    ]) {
      await expect(readMessageBody(body(JSON.stringify({ text: 'x', attachments: [file] }), 5), new KeptFiles())).rejects.toMatchObject({
        code: 'validation_failed',
        details: [expect.objectContaining({ path: 'json.attachments.0.data', code: 'mime_mismatch' })],
      })
    }
  })

  it('refuses what is not base64, an empty file, more than ten files, and a body that is not JSON', async () => {
    const refused = (sent: unknown) => readMessageBody(body(typeof sent === 'string' ? sent : JSON.stringify(sent), 7), new KeptFiles())
    await expect(refused({ text: 'x', attachments: [{ filename: 'a', mime: 'text/plain', data: 'ab$c' }] })).rejects.toMatchObject({
      details: [expect.objectContaining({ path: 'json.attachments.0.data', code: 'invalid_format' })],
    })
    await expect(refused({ text: 'x', attachments: [{ filename: 'a', mime: 'text/plain', data: 'YQ==YQ==' }] })).rejects.toMatchObject({ code: 'validation_failed' })
    await expect(refused({ text: 'x', attachments: [{ filename: 'a', mime: 'text/plain', data: '' }] })).rejects.toMatchObject({
      details: [expect.objectContaining({ path: 'json.attachments.0.data', code: 'too_small' })],
    })
    const file = { filename: 'a.txt', mime: 'text/plain', data: b64('a') }
    await expect(refused({ text: 'x', attachments: Array.from({ length: 11 }, () => file) })).rejects.toMatchObject({
      details: [expect.objectContaining({ path: 'json.attachments' })],
    })
    await expect(refused('{"text": "x", "attachments": [')).rejects.toMatchObject({ code: 'invalid_json' })
  })

  it('refuses more than the limit decoded in all with payload_too_large, before reading the rest', async () => {
    const half = b64(new Uint8Array(MAX_ATTACHMENT_BYTES / 2 + 1))
    const sink = new KeptFiles()
    const sent = { text: 'x', attachments: [{ filename: 'a.txt', mime: 'text/plain', data: half }, { filename: 'b.txt', mime: 'text/plain', data: half }] }
    await expect(readMessageBody(body(JSON.stringify(sent), 65_536), sink)).rejects.toMatchObject({ code: 'payload_too_large' })
    expect(sink.bytes(0).byteLength + sink.bytes(1).byteLength).toBeLessThanOrEqual(MAX_ATTACHMENT_BYTES)
  })
})

describe("a file's content", () => {
  it('tells each kind by its signature, and text by being UTF-8 throughout', () => {
    const ascii = (s: string) => Uint8Array.from([...s].map((ch) => ch.charCodeAt(0)))
    const matches = (mime: Parameters<FileContent['matches']>[0], ...pieces: Uint8Array[]) => {
      const content = new FileContent()
      for (const p of pieces) content.add(p)
      return content.matches(mime)
    }
    expect(matches('image/jpeg', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe(true)
    expect(matches('image/gif', ascii('GIF8'), ascii('9a...'))).toBe(true)
    expect(matches('image/webp', ascii('RIFF\x10\x00\x00\x00WEBPVP8 '))).toBe(true)
    expect(matches('image/webp', ascii('RIFF\x10\x00\x00\x00WAVEfmt '))).toBe(false)
    expect(matches('application/pdf', ascii('%PDF-1.7'))).toBe(true)
    expect(matches('image/png', ascii('#!/bin/sh\nrm -rf /'))).toBe(false)
    expect(matches('image/png', PNG.slice(0, 4))).toBe(false)
    expect(matches('text/plain', Uint8Array.from([0xc3, 0x28]))).toBe(false)
    // A character cut between two pieces is still UTF-8; one left unfinished at the end is not.
    expect(matches('text/plain', Uint8Array.from([0x68, 0xc3]), Uint8Array.from([0xa9]))).toBe(true)
    expect(matches('text/plain', Uint8Array.from([0x68, 0xc3]))).toBe(false)
  })
})
