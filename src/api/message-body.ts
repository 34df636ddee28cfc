import { MAX_ATTACHMENTS } from '../contracts'
import { ApiError } from '../lib/errors'
import { Base64Error, Base64Stream } from '../lib/base64-stream'
import { concat, JsonSyntaxError, JsonTokens, ValueCopies, type JsonListener, type JsonPath, type ValueKind } from '../lib/json-tokens'
import { checkFile, checkTotal, FileContent } from './attachments'

/**
 * A message's body read as it arrives: each file's base64 `data` is decoded and handed on as it
 * passes (to the session's storage, see ./message-files), and never held whole; what is left is
 * the body with each file's data replaced by DATA_STAND_IN, for the route's schema to check as
 * it checks any body. The files' own checks (base64, what their type says, the total) are made
 * here, on the way.
 */

/** What a file's `data` becomes in the body the schema reads: valid base64 of nothing much. */
export const DATA_STAND_IN = 'AA=='

/** Where the decoded bytes go: `bytes` of file `file` in order, then `end` once each file has passed whole. */
export interface FileSink {
  write(file: number, bytes: Uint8Array): Promise<void>
  end(file: number): Promise<void>
}

export type ReadBody = { rest: Uint8Array; sizes: number[] }

type Step = { file: number; bytes: Uint8Array } | { file: number; end: true }

const encoder = new TextEncoder()
const isData = (path: JsonPath) => path.length === 3 && path[0] === 'attachments' && typeof path[1] === 'number' && path[2] === 'data'
const isFileField = (path: JsonPath) => path.length === 3 && path[0] === 'attachments' && typeof path[1] === 'number' && (path[2] === 'mime' || path[2] === 'filename')

class MessageBodyReader implements JsonListener {
  readonly tokens = new JsonTokens(this)
  private readonly fields: ValueCopies
  private readonly named = new Map<number, { filename?: unknown; mime?: unknown }>()
  private readonly contents = new Map<number, FileContent>()
  private file: { index: number; base64: Base64Stream; from: number; chars: number } | undefined
  private total = 0
  private chunk: Uint8Array = new Uint8Array()
  private from = 0
  readonly rest: Uint8Array[] = []
  steps: Step[] = []

  constructor() {
    this.fields = new ValueCopies(isFileField, (path, bytes) => {
      const fields = this.named.get(path[1] as number) ?? {}
      fields[path[2] as 'mime' | 'filename'] = parsed(bytes)
      this.named.set(path[1] as number, fields)
    }, 1024)
  }

  push(chunk: Uint8Array) {
    this.chunk = chunk
    this.from = 0
    this.fields.reading(chunk)
    this.tokens.push(chunk)
    this.fields.read()
    if (this.file) {
      this.decode(chunk.subarray(this.file.from))
      this.file.from = 0
    } else this.rest.push(chunk.slice(this.from))
  }

  start(path: JsonPath, kind: ValueKind, at: number) {
    this.fields.start(path, kind, at)
    if (!isData(path) || kind !== 'string') return
    const index = path[1] as number
    if (index >= MAX_ATTACHMENTS) {
      throw new ApiError('validation_failed', `json.attachments: at most ${MAX_ATTACHMENTS} files`, [
        { path: 'json.attachments', message: `Too big: expected array to have <=${MAX_ATTACHMENTS} items`, code: 'too_big' },
      ])
    }
    this.rest.push(this.chunk.slice(this.from, at), encoder.encode(`"${DATA_STAND_IN}"`))
    this.file = { index, base64: new Base64Stream(), from: at + 1, chars: 0 }
    this.contents.set(index, new FileContent())
  }

  end(path: JsonPath, kind: ValueKind, at: number) {
    this.fields.end(path, kind, at)
    const file = this.file
    if (file && isData(path)) {
      this.decode(this.chunk.subarray(file.from, at - 1))
      if (file.chars === 0) throw fileError(file.index, 'Too small: expected string to have >=1 characters', 'too_small')
      this.decoded(file.index, this.guard(file.index, () => file.base64.finish()))
      this.steps.push({ file: file.index, end: true })
      this.file = undefined
      this.from = at
    } else if (path.length === 2 && path[0] === 'attachments' && typeof path[1] === 'number') {
      const content = this.contents.get(path[1])
      const { filename, mime } = this.named.get(path[1]) ?? {}
      if (content) checkFile(path[1], filename, mime, content)
    }
  }

  get sizes(): number[] {
    return [...this.contents.entries()].sort(([a], [b]) => a - b).map(([, c]) => c.size)
  }

  private decode(text: Uint8Array) {
    const file = this.file!
    file.chars += text.byteLength
    this.decoded(file.index, this.guard(file.index, () => file.base64.push(text)))
  }

  private decoded(index: number, bytes: Uint8Array) {
    if (bytes.byteLength === 0) return
    this.total += bytes.byteLength
    checkTotal(this.total)
    this.contents.get(index)!.add(bytes)
    this.steps.push({ file: index, bytes })
  }

  private guard(index: number, decode: () => Uint8Array): Uint8Array {
    try {
      return decode()
    } catch (err) {
      if (!(err instanceof Base64Error)) throw err
      throw fileError(index, 'standard base64', 'invalid_format')
    }
  }
}

const fileError = (index: number, message: string, code: string) =>
  new ApiError('validation_failed', `json.attachments.${index}.data: ${message}`, [{ path: `json.attachments.${index}.data`, message, code }])

function parsed(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return undefined
  }
}

/** Runs `read`, a syntax error answering as any body that is not JSON does. */
function asJson<T>(read: () => T): T {
  try {
    return read()
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new ApiError('invalid_json', `the body is not JSON: ${err.message}`)
    throw err
  }
}

/**
 * Reads a message's body to its end, handing each file's bytes to `sink` as they are decoded
 * (awaited, so a slow sink slows the read, and nothing piles up). Throws ApiError: invalid_json,
 * validation_failed (a file's base64 or content), payload_too_large (the files together).
 */
export async function readMessageBody(body: ReadableStream<Uint8Array>, sink: FileSink): Promise<ReadBody> {
  const reader = new MessageBodyReader()
  const chunks = body.getReader()
  try {
    for (;;) {
      const { value, done } = await chunks.read()
      if (done) break
      asJson(() => reader.push(value))
      const steps = reader.steps
      reader.steps = []
      for (const step of steps) await ('end' in step ? sink.end(step.file) : sink.write(step.file, step.bytes))
    }
    asJson(() => reader.tokens.finish())
  } catch (err) {
    // The client is still sending: the answer waits for the rest (read, not kept), or its connection would be cut mid-send.
    while (!(await chunks.read().catch(() => ({ done: true }))).done);
    throw err
  }
  return { rest: concat(reader.rest), sizes: reader.sizes }
}
