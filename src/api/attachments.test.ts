import { Buffer } from 'node:buffer'
import { describe, expect, it } from 'vitest'
import { MAX_ATTACHMENT_BYTES } from '../contracts'
import { contentMatches, decodeAttachments } from './attachments'

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])
const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64')

describe('attachments', () => {
  it('decodes files whose content is what their type says', () => {
    const files = decodeAttachments([
      { filename: 'shot.png', mime: 'image/png', data: b64(PNG) },
      { filename: 'notes.md', mime: 'text/markdown', data: b64('# héllo') },
    ])
    expect(files.map((f) => [f.filename, f.mime, f.bytes.byteLength])).toEqual([
      ['shot.png', 'image/png', PNG.byteLength],
      ['notes.md', 'text/markdown', 8],
    ])
    expect([...files[0]!.bytes]).toEqual([...PNG])
  })

  it('tells each kind by its signature, and text by being UTF-8', () => {
    const ascii = (s: string) => Uint8Array.from([...s].map((ch) => ch.charCodeAt(0)))
    expect(contentMatches('image/jpeg', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe(true)
    expect(contentMatches('image/gif', ascii('GIF89a...'))).toBe(true)
    expect(contentMatches('image/webp', ascii('RIFF\x10\x00\x00\x00WEBPVP8 '))).toBe(true)
    expect(contentMatches('image/webp', ascii('RIFF\x10\x00\x00\x00WAVEfmt '))).toBe(false)
    expect(contentMatches('application/pdf', ascii('%PDF-1.7'))).toBe(true)
    expect(contentMatches('image/png', ascii('#!/bin/sh\nrm -rf /'))).toBe(false)
    expect(contentMatches('image/png', PNG.slice(0, 4))).toBe(false)
    expect(contentMatches('text/plain', Uint8Array.from([0xc3, 0x28]))).toBe(false)
  })

  it('refuses a file that is not what its type says, naming it', () => {
    expect(() => decodeAttachments([{ filename: 'x.png', mime: 'image/png', data: b64('not a png') }])).toThrow(
      expect.objectContaining({ code: 'validation_failed', details: [expect.objectContaining({ path: 'json.attachments.0.data' })] }),
    )
  })

  it('refuses more than the limit decoded in all with payload_too_large', () => {
    const half = b64(new Uint8Array(MAX_ATTACHMENT_BYTES / 2 + 1))
    expect(() =>
      decodeAttachments([
        { filename: 'a.txt', mime: 'text/plain', data: half },
        { filename: 'b.txt', mime: 'text/plain', data: half },
      ]),
    ).toThrow(expect.objectContaining({ code: 'payload_too_large' }))
  })
})
