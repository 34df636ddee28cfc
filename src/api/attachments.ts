import { ATTACHMENT_MIME, MAX_ATTACHMENT_BYTES, type AttachmentMime } from '../contracts'
import { ApiError } from '../lib/errors'

/** The first bytes each binary kind starts with, one character a byte; `?` matches any byte. */
const SIGNATURES: Partial<Record<AttachmentMime, string[]>> = {
  'image/png': ['\x89PNG\r\n\x1a\n'],
  'image/jpeg': ['\xff\xd8\xff'],
  'image/gif': ['GIF87a', 'GIF89a'],
  'image/webp': ['RIFF????WEBP'],
  'application/pdf': ['%PDF-'],
}
/** The longest signature: what of a file's start is kept to check it. */
const HEAD_BYTES = 12

const startsWith = (bytes: Uint8Array, signature: string) =>
  signature.length <= bytes.length && [...signature].every((ch, i) => ch === '?' || bytes[i] === ch.charCodeAt(0))

/**
 * What a file is, learnt as its bytes pass (they are never all in memory): its size, its first
 * bytes, and whether it is UTF-8 throughout.
 */
export class FileContent {
  size = 0
  private head = new Uint8Array(HEAD_BYTES)
  private utf8: TextDecoder | undefined = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

  add(bytes: Uint8Array) {
    if (this.size < HEAD_BYTES) this.head.set(bytes.subarray(0, HEAD_BYTES - this.size), this.size)
    this.size += bytes.byteLength
    try {
      this.utf8?.decode(bytes, { stream: true })
    } catch {
      this.utf8 = undefined
    }
  }

  /** Whether the bytes are what `mime` says: a binary kind's signature, or UTF-8 text for the text kinds. */
  matches(mime: AttachmentMime): boolean {
    const signatures = SIGNATURES[mime]
    const head = this.head.subarray(0, Math.min(this.size, HEAD_BYTES))
    if (signatures) return signatures.some((signature) => startsWith(head, signature))
    try {
      this.utf8?.decode()
    } catch {
      this.utf8 = undefined
    }
    return this.utf8 !== undefined
  }
}

/**
 * A file's checks once it has passed whole: it must be what its `mime` says (a model should not
 * get a script labelled as a picture). A `mime` that is none of ours is left to the schema.
 */
export function checkFile(i: number, filename: unknown, mime: unknown, content: FileContent) {
  if (!ATTACHMENT_MIME.includes(mime as AttachmentMime) || content.matches(mime as AttachmentMime)) return
  throw new ApiError('validation_failed', `attachment ${i} ("${String(filename)}") is not ${String(mime)}`, [
    { path: `json.attachments.${i}.data`, message: `the content is not ${String(mime)}`, code: 'mime_mismatch' },
  ])
}

/** A message's files may together be at most MAX_ATTACHMENT_BYTES decoded (413 beyond). */
export function checkTotal(total: number) {
  if (total > MAX_ATTACHMENT_BYTES) {
    throw new ApiError('payload_too_large', `a message's attachments are limited to ${MAX_ATTACHMENT_BYTES} bytes decoded`)
  }
}
