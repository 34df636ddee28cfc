/**
 * A JSON document read as its bytes arrive, never held whole: it says where each value starts and
 * ends (by its path) in the chunk being read, and the reader copies, streams or skips the bytes
 * between as it needs. Large request bodies (a message's files, a model request) pass through the
 * Worker this way in a few kilobytes of state. Strings are skipped with indexOf, so a megabyte of
 * base64 costs a handful of native searches, not a loop over its bytes.
 */

export type JsonPath = readonly (string | number)[]
export type ValueKind = 'object' | 'array' | 'string' | 'number' | 'literal'

export interface JsonListener {
  /** A value at `path` starts at byte `at` of the chunk being read (its quote, bracket or first character). */
  start?(path: JsonPath, kind: ValueKind, at: number): void
  /** The value at `path` ends just before byte `at` of the chunk being read. */
  end?(path: JsonPath, kind: ValueKind, at: number): void
}

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError'
}

type Frame = { kind: 'object' | 'array'; key: string | number; count: number }
type Mode = 'value' | 'value_or_close' | 'key' | 'key_or_close' | 'colon' | 'after' | 'string' | 'key_string' | 'bare' | 'done'

const QUOTE = 0x22
const BACKSLASH = 0x5c
/** Object keys longer than this are refused: no request we read has any. */
const MAX_KEY_BYTES = 1024

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
/** Characters of numbers, `true`, `false` and `null`; JSON.parse of a copied value checks them exactly. */
const isBare = (b: number) => (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2b || b === 0x2e || b === 0x45

export class JsonTokens {
  private readonly stack: Frame[] = []
  private mode: Mode = 'value'
  private escaped = false
  private bareKind: ValueKind = 'number'
  private key: Uint8Array[] = []
  private keyBytes = 0

  constructor(private readonly listener: JsonListener) {}

  get path(): JsonPath {
    return this.stack.map((f) => f.key)
  }

  /** Reads the next chunk; throws JsonSyntaxError where the document cannot be JSON. */
  push(chunk: Uint8Array) {
    let i = 0
    const n = chunk.length
    while (i < n) {
      if (this.mode === 'string' || this.mode === 'key_string') {
        i = this.inString(chunk, i)
        continue
      }
      const b = chunk[i]!
      if (this.mode === 'bare') {
        if (isBare(b)) {
          i++
          continue
        }
        this.listener.end?.(this.path, this.bareKind, i)
        this.valueDone()
        continue
      }
      if (isSpace(b)) {
        i++
        continue
      }
      this.structural(b, i)
      i++
    }
    if (this.mode === 'key_string' && this.keyStart >= 0) this.keepKey(chunk.subarray(this.keyStart))
    this.keyStart = 0
  }

  /** The document has ended: a number at its end ends with it. */
  finish() {
    if (this.mode === 'bare' && this.stack.length === 0) {
      this.listener.end?.(this.path, this.bareKind, 0)
      this.mode = 'done'
    }
    if (this.mode !== 'done') throw new JsonSyntaxError('the JSON ends before its value does')
  }

  /** where the key being read starts in this chunk (-1: not in it) */
  private keyStart = -1

  private inString(chunk: Uint8Array, from: number): number {
    let i = from
    if (this.escaped) {
      this.escaped = false
      i++
      if (i >= chunk.length) return i
    }
    // Each search runs again only once passed: a string full of escapes costs one pass, not one per escape.
    let quote = chunk.indexOf(QUOTE, i)
    let slash = chunk.indexOf(BACKSLASH, i)
    for (;;) {
      if (slash >= 0 && (quote < 0 || slash < quote)) {
        if (slash + 1 >= chunk.length) {
          this.escaped = true
          return chunk.length
        }
        i = slash + 2
        if (quote >= 0 && quote < i) quote = chunk.indexOf(QUOTE, i)
        slash = chunk.indexOf(BACKSLASH, i)
        continue
      }
      if (quote < 0) return chunk.length
      if (this.mode === 'key_string') {
        this.keepKey(chunk.subarray(this.keyStart, quote))
        this.keyStart = -1
        this.readKey()
        this.mode = 'colon'
      } else {
        this.listener.end?.(this.path, 'string', quote + 1)
        this.valueDone()
      }
      return quote + 1
    }
  }

  private keepKey(bytes: Uint8Array) {
    this.keyBytes += bytes.byteLength
    if (this.keyBytes > MAX_KEY_BYTES) throw new JsonSyntaxError(`an object key is longer than ${MAX_KEY_BYTES} bytes`)
    this.key.push(bytes.slice())
  }

  private readKey() {
    const bytes = concat(this.key, this.keyBytes)
    this.key = []
    this.keyBytes = 0
    let key: unknown
    try {
      key = JSON.parse(`"${new TextDecoder().decode(bytes)}"`)
    } catch {
      throw new JsonSyntaxError('an object key is not a valid JSON string')
    }
    this.stack.at(-1)!.key = key as string
  }

  private structural(b: number, i: number) {
    const top = this.stack.at(-1)
    switch (this.mode) {
      case 'value_or_close':
        if (b === 0x5d) return this.close('array', i)
      // falls through: anything else starts the array's first value
      case 'value':
        return this.startValue(b, i)
      case 'key_or_close':
        if (b === 0x7d) return this.close('object', i)
      // falls through
      case 'key':
        if (b !== QUOTE) throw new JsonSyntaxError('an object key must be a string')
        this.mode = 'key_string'
        this.keyStart = i + 1
        return
      case 'colon':
        if (b !== 0x3a) throw new JsonSyntaxError('a colon must follow an object key')
        this.mode = 'value'
        return
      case 'after':
        if (b === 0x2c && top?.kind === 'object') this.mode = 'key'
        else if (b === 0x2c && top?.kind === 'array') {
          top.key = top.count
          this.mode = 'value'
        } else if (b === 0x7d && top?.kind === 'object') this.close('object', i)
        else if (b === 0x5d && top?.kind === 'array') this.close('array', i)
        else throw new JsonSyntaxError(`unexpected "${String.fromCharCode(b)}" after a value`)
        return
      default:
        throw new JsonSyntaxError('more follows the JSON document')
    }
  }

  private startValue(b: number, i: number) {
    const path = this.path
    if (b === 0x7b) {
      this.listener.start?.(path, 'object', i)
      this.stack.push({ kind: 'object', key: '', count: 0 })
      this.mode = 'key_or_close'
    } else if (b === 0x5b) {
      this.listener.start?.(path, 'array', i)
      this.stack.push({ kind: 'array', key: 0, count: 0 })
      this.mode = 'value_or_close'
    } else if (b === QUOTE) {
      this.listener.start?.(path, 'string', i)
      this.mode = 'string'
    } else if (isBare(b)) {
      this.bareKind = b === 0x74 || b === 0x66 || b === 0x6e ? 'literal' : 'number'
      this.listener.start?.(path, this.bareKind, i)
      this.mode = 'bare'
    } else {
      throw new JsonSyntaxError(`unexpected "${String.fromCharCode(b)}" where a value should be`)
    }
  }

  private close(kind: 'object' | 'array', i: number) {
    this.stack.pop()
    this.listener.end?.(this.path, kind, i + 1)
    this.valueDone()
  }

  private valueDone() {
    const top = this.stack.at(-1)
    if (!top) {
      this.mode = 'done'
      return
    }
    top.count++
    this.mode = 'after'
  }
}

/**
 * The bytes of chosen values, copied as they pass (across chunks), each handed on whole when it
 * ends. `wants` picks them by path and kind; a value over `maxBytes` is dropped, not kept.
 */
export class ValueCopies implements JsonListener {
  private copying: { path: JsonPath; from: number; pieces: Uint8Array[]; bytes: number; over: boolean } | undefined
  private chunk: Uint8Array = new Uint8Array()

  constructor(
    private readonly wants: (path: JsonPath, kind: ValueKind) => boolean,
    private readonly done: (path: JsonPath, bytes: Uint8Array) => void,
    private readonly maxBytes: number,
  ) {}

  /** The chunk about to be read, so copies know where their bytes are. */
  reading(chunk: Uint8Array) {
    this.chunk = chunk
  }

  /** The chunk has been read: a value still going on keeps what of it was in it. */
  read() {
    if (this.copying) {
      this.keep(this.chunk.subarray(this.copying.from))
      this.copying.from = 0
    }
  }

  start(path: JsonPath, kind: ValueKind, at: number) {
    if (!this.copying && this.wants(path, kind)) this.copying = { path, from: at, pieces: [], bytes: 0, over: false }
  }

  end(path: JsonPath, _kind: ValueKind, at: number) {
    const copying = this.copying
    if (!copying || copying.path.length !== path.length || !copying.path.every((p, i) => p === path[i])) return
    this.keep(this.chunk.subarray(copying.from, at))
    this.copying = undefined
    if (!copying.over) this.done(path, concat(copying.pieces, copying.bytes))
  }

  private keep(bytes: Uint8Array) {
    const copying = this.copying!
    copying.bytes += bytes.byteLength
    if (copying.bytes > this.maxBytes) {
      copying.over = true
      copying.pieces = []
    }
    if (!copying.over) copying.pieces.push(bytes.slice())
  }
}

export function concat(pieces: Uint8Array[], total = pieces.reduce((n, p) => n + p.byteLength, 0)): Uint8Array {
  const out = new Uint8Array(total)
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}
