import { describe, expect, it } from 'vitest'
import { fileBytes, fileContent, fileTooLarge, MAX_FILE_BYTES } from './file-content'

const bytes = (...values: number[]) => new Uint8Array(values)

describe('fileContent', () => {
  it('gives UTF-8 text as text', () => {
    expect(fileContent(new TextEncoder().encode('héllo\n✓'))).toEqual({ type: 'text', content: 'héllo\n✓' })
    expect(fileContent(bytes())).toEqual({ type: 'text', content: '' })
  })

  it('gives a file with a NUL byte as base64, though it is valid UTF-8', () => {
    expect(fileContent(bytes(0x61, 0x00, 0x62))).toEqual({ type: 'binary', content: 'YQBi' })
  })

  it('gives back the bytes it was made of, text or binary', () => {
    for (const b of [bytes(0x1f, 0x8b, 0x00, 0xff), new TextEncoder().encode('héllo\n✓'), bytes()]) expect(fileBytes(fileContent(b))).toEqual(b)
  })

  it('gives bytes that are not UTF-8 as base64', () => {
    expect(fileContent(bytes(0xff, 0xfe, 0x41))).toEqual({ type: 'binary', content: '//5B' })
  })

  it('encodes a 1 MiB binary whole', () => {
    const big = new Uint8Array(1024 * 1024)
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) % 256
    const file = fileContent(big)
    expect(file.type).toBe('binary')
    expect(file.content).toBe(Buffer.from(big).toString('base64'))
  })
})

describe('fileTooLarge', () => {
  it('lets files up to 10 MiB through and names the limit past it', () => {
    expect(MAX_FILE_BYTES).toBe(10 * 1024 * 1024)
    expect(fileTooLarge(0)).toBeUndefined()
    expect(fileTooLarge(MAX_FILE_BYTES)).toBeUndefined()
    expect(fileTooLarge(MAX_FILE_BYTES + 1)).toBe(`the file has ${MAX_FILE_BYTES + 1} bytes; files over 10 MiB are not read`)
  })
})
