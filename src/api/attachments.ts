import { Buffer } from 'node:buffer'
import { MAX_ATTACHMENT_BYTES, type Attachment, type AttachmentFile, type AttachmentMime } from '../contracts'
import { ApiError } from '../lib/errors'

/** The first bytes each binary kind starts with, one character a byte; `?` matches any byte. */
const SIGNATURES: Partial<Record<AttachmentMime, string[]>> = {
  'image/png': ['\x89PNG\r\n\x1a\n'],
  'image/jpeg': ['\xff\xd8\xff'],
  'image/gif': ['GIF87a', 'GIF89a'],
  'image/webp': ['RIFF????WEBP'],
  'application/pdf': ['%PDF-'],
}

const startsWith = (bytes: Uint8Array, signature: string) =>
  signature.length <= bytes.length && [...signature].every((ch, i) => ch === '?' || bytes[i] === ch.charCodeAt(0))

/** Whether `bytes` are what `mime` says: a binary kind's signature, or UTF-8 text for the text kinds. */
export function contentMatches(mime: AttachmentMime, bytes: Uint8Array): boolean {
  const signatures = SIGNATURES[mime]
  if (signatures) return signatures.some((signature) => startsWith(bytes, signature))
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/**
 * A message's files, decoded and checked: each must be what its `mime` says (a model should not
 * get a script labelled as a picture), and together at most MAX_ATTACHMENT_BYTES (413 beyond).
 */
export function decodeAttachments(attachments: Attachment[]): AttachmentFile[] {
  let total = 0
  const files = attachments.map(({ filename, mime, data }, i) => {
    const bytes = new Uint8Array(Buffer.from(data, 'base64'))
    total += bytes.byteLength
    if (total > MAX_ATTACHMENT_BYTES) {
      throw new ApiError('payload_too_large', `a message's attachments are limited to ${MAX_ATTACHMENT_BYTES} bytes decoded`)
    }
    if (!contentMatches(mime, bytes)) {
      throw new ApiError('validation_failed', `attachment ${i} ("${filename}") is not ${mime}`, [
        { path: `json.attachments.${i}.data`, message: `the content is not ${mime}`, code: 'mime_mismatch' },
      ])
    }
    return { filename, mime, bytes }
  })
  return files
}
