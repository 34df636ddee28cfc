import type { SandboxFileContent } from './provider'

/** The largest workspace file handed out; a larger one is refused before it is read into memory. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024

/** Why a file of `size` bytes is not read, or nothing when it may be. */
export function fileTooLarge(size: number): string | undefined {
  if (size <= MAX_FILE_BYTES) return undefined
  return `the file has ${size} bytes; files over ${MAX_FILE_BYTES / 1024 / 1024} MiB are not read`
}

/**
 * `String.fromCharCode` takes its bytes as arguments, and engines cap how many a call may have
 * (about 125 K in V8): a whole file spread into one call throws, a chunk at a time does not.
 */
const CHUNK = 0x8000

export function base64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK))
  return btoa(binary)
}

/** A file as the API shows it: UTF-8 text as is; anything else (a NUL byte, invalid UTF-8) base64. */
export function fileContent(bytes: Uint8Array): SandboxFileContent {
  if (!bytes.includes(0)) {
    try {
      return { type: 'text', content: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes) }
    } catch {
      // not UTF-8: binary
    }
  }
  return { type: 'binary', content: base64(bytes) }
}

/** A file's bytes again, from what fileContent made of them. */
export function fileBytes(file: SandboxFileContent): Uint8Array<ArrayBuffer> {
  return file.type === 'text' ? new Uint8Array(new TextEncoder().encode(file.content)) : Uint8Array.from(atob(file.content), (c) => c.charCodeAt(0))
}
