/**
 * A model request as the gateway passes it on: streamed, never held whole (a request carries the
 * whole conversation, up to MAX_GATEWAY_BODY_BYTES, and an isolate's memory is shared by every
 * call and session in it). What the gateway must know before forwarding (the model and output
 * bound, for the reservation) is read from the request's first HEAD_BYTES; fields that come later
 * count as unstated, which reserves more, never less. The usage request of OpenAI's streamed chat
 * is written into the body as it passes (UsageAsked).
 */

import { concat, JsonSyntaxError, JsonTokens, ValueCopies, type JsonListener, type JsonPath, type ValueKind } from '../lib/json-tokens'
import { ApiError } from '../lib/errors'
import type { KeyStyle } from './calls'
import { withUsageRequested } from './spend'

/** How much of a request is read before it is forwarded: SDKs put the model and output bound first. */
export const HEAD_BYTES = 64 * 1024
/** The top-level fields the reservation is made from (see callShape). */
const COST_FIELDS = new Set(['model', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'generationConfig'])
/** A field's value larger than this is none the gateway needs. */
const MAX_FIELD_BYTES = 16 * 1024

/** The first chunks of a body, at least `bytes` of them unless it ends first, and the rest of it still to read. */
export async function readHead(body: ReadableStream<Uint8Array>, bytes: number): Promise<{ head: Uint8Array[]; whole: boolean; rest: ReadableStream<Uint8Array> }> {
  const reader = body.getReader()
  const head: Uint8Array[] = []
  let read = 0
  let whole = false
  while (read < bytes) {
    const { value, done } = await reader.read()
    if (done) {
      whole = true
      break
    }
    head.push(value)
    read += value.byteLength
  }
  const waiting = [...head]
  const rest = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = waiting.shift()
      if (next) return controller.enqueue(next)
      const { value, done } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
  return { head, whole, rest }
}

/** The cost fields found at the top level of a request's first bytes, parsed; any that are cut off are left out. */
export function costFields(head: Uint8Array[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  const copies = new ValueCopies(
    (path) => path.length === 1 && COST_FIELDS.has(path[0] as string),
    (path, bytes) => {
      try {
        fields[path[0] as string] = JSON.parse(new TextDecoder().decode(bytes))
      } catch {
        // not JSON after all: the field counts as unstated
      }
    },
    MAX_FIELD_BYTES,
  )
  const tokens = new JsonTokens(copies)
  try {
    for (const chunk of head) {
      copies.reading(chunk)
      tokens.push(chunk)
      copies.read()
    }
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err
  }
  return fields
}

/**
 * The cost fields as the provider reads them must be those the reservation and the price were
 * taken from. A provider reads a key given twice as its last, and the gateway reads only the head:
 * so a top-level cost field given twice, or a `model` past the head, is refused (400), and the
 * agent, which is hostile, cannot make an expensive model's call count at a cheap one's price. An
 * output bound first given past the head is let through: it counted as unstated, which reserved
 * the model's whole output limit (OpenAI's Responses API puts it after the conversation).
 */
export class CostFieldsOnce {
  /** why the body is refused, once it is */
  refusal: ApiError | undefined
  private readonly seen = new Set<string>()
  private offset = 0
  private readonly tokens = new JsonTokens({
    start: (path, _kind, at) => {
      const field = path.length === 1 ? String(path[0]) : undefined
      if (!field || !COST_FIELDS.has(field) || this.refusal) return
      if (this.seen.has(field)) this.refuse(`"${field}" is given twice`)
      else if (field === 'model' && this.offset + at >= HEAD_BYTES) this.refuse(`"model" comes after its first ${HEAD_BYTES} bytes`)
      this.seen.add(field)
    },
  })

  /**
   * Reads the body's next bytes. A body this reader cannot follow (not JSON, or a key longer than
   * it reads) is refused: past that point a second `model` would go unseen, and no model API
   * takes such a body.
   */
  read(chunk: Uint8Array) {
    if (this.refusal) return
    try {
      this.tokens.push(chunk)
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err
      this.refusal = new ApiError('validation_failed', `a model request must be JSON the gateway can read: ${err.message}`)
    }
    this.offset += chunk.byteLength
  }

  /**
   * The body as it goes on, failed where it is refused, so that the provider never gets it whole.
   * Its first `alreadyRead` bytes (the head, checked before anything was sent) are not read again.
   */
  transform(alreadyRead: number): TransformStream<Uint8Array, Uint8Array> {
    let skip = alreadyRead
    return new TransformStream({
      transform: (chunk, controller) => {
        const unread = chunk.byteLength > skip ? chunk.subarray(skip) : undefined
        skip = Math.max(0, skip - chunk.byteLength)
        if (unread) this.read(unread)
        if (this.refusal) controller.error(this.refusal)
        else controller.enqueue(chunk)
      },
    })
  }

  private refuse(why: string) {
    this.refusal = new ApiError('validation_failed', `a model request's ${why}: each of ${[...COST_FIELDS].join(', ')} comes once, and the model in the first bytes`)
  }
}

/** Bytes held back at most while the usage request waits on `stream` to be read; past it the body goes on as it came. */
const MAX_HELD_BYTES = 1024 * 1024
const encoder = new TextEncoder()

/**
 * An OpenAI-style chat request on its way, with `stream_options.include_usage` set when it streams
 * (withUsageRequested decides), rewritten as it passes. `stream_options`, when there is one, is
 * held back until `stream` is known (it comes first in what SDKs send); when there is none, it is
 * added before the closing brace. A body that is not JSON goes on as it came, and so does one
 * that holds more than MAX_HELD_BYTES after `stream_options` before saying whether it streams:
 * its call is then charged its reservation (see settle).
 */
export class UsageAsked implements JsonListener {
  private readonly tokens = new JsonTokens(this)
  private readonly streamCopy: ValueCopies
  private stream: unknown
  private sawOptions = false
  /** `stream_options`' value as sent, once it has been read */
  private options: Uint8Array | undefined
  /** what is held back from the start of `stream_options` on */
  private held: Uint8Array[] | undefined
  private heldBytes = 0
  private gaveUp = false
  private chunk: Uint8Array = new Uint8Array()
  private from = 0
  private out: Uint8Array[] = []

  constructor(
    private readonly style: KeyStyle,
    private readonly path: string,
  ) {
    this.streamCopy = new ValueCopies(
      (p) => p.length === 1 && p[0] === 'stream',
      (_p, bytes) => {
        this.stream = parsed(bytes)
        if (this.options) this.release()
      },
      MAX_FIELD_BYTES,
    )
  }

  /** The body's rewriting as a stream stage. */
  transform(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, controller) => {
        for (const piece of this.push(chunk)) controller.enqueue(piece)
      },
      flush: (controller) => {
        if (this.held) for (const piece of this.giveUp()) controller.enqueue(piece)
      },
    })
  }

  /** What goes on of the next chunk. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.gaveUp) return [chunk]
    this.chunk = chunk
    this.from = 0
    this.out = []
    this.streamCopy.reading(chunk)
    try {
      this.tokens.push(chunk)
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err
      this.pass(chunk.length)
      return this.giveUp()
    }
    this.streamCopy.read()
    this.pass(chunk.length)
    const out = this.out
    this.out = []
    return out
  }

  start(path: JsonPath, kind: ValueKind, at: number) {
    this.streamCopy.start(path, kind, at)
    if (path.length !== 1 || path[0] !== 'stream_options') return
    this.pass(at)
    if (this.sawOptions) {
      this.gaveUp = true
      return
    }
    this.sawOptions = true
    this.held = []
  }

  end(path: JsonPath, kind: ValueKind, at: number) {
    this.streamCopy.end(path, kind, at)
    if (this.gaveUp) return
    if (path.length === 1 && path[0] === 'stream_options' && this.held) {
      this.pass(at)
      this.options = concat(this.held, this.heldBytes)
      this.held = []
      this.heldBytes = 0
      if (this.stream !== undefined) this.release()
    } else if (path.length === 0 && kind === 'object') {
      // Before the closing brace: the body's end says whether `stream_options` must be added.
      this.pass(at - 1)
      if (this.held) this.release()
      else if (!this.sawOptions) {
        const asked = withUsageRequested(this.style, this.path, { stream: this.stream })
        if (asked) this.out.push(encoder.encode(`,"stream_options":${JSON.stringify(asked.stream_options)}`))
      }
    }
  }

  /** The chunk's bytes up to `to` go on, or are held. */
  private pass(to: number) {
    if (to <= this.from) return
    const bytes = this.chunk.subarray(this.from, to)
    this.from = to
    if (!this.held) return void this.out.push(bytes)
    this.held.push(bytes.slice())
    this.heldBytes += bytes.byteLength
    if (this.heldBytes > MAX_HELD_BYTES) this.out.push(...this.giveUp())
  }

  /** `stream` is known (or never will be): `stream_options` goes on as it should be, then what waited behind it. */
  private release() {
    const options = this.options!
    const asked = withUsageRequested(this.style, this.path, { stream: this.stream, stream_options: parsed(options) })
    this.out.push(asked ? encoder.encode(JSON.stringify(asked.stream_options)) : options, ...this.held!)
    this.options = undefined
    this.held = undefined
    this.heldBytes = 0
  }

  /** The rest goes on untouched: what was held back first, as it came. */
  private giveUp(): Uint8Array[] {
    this.gaveUp = true
    const out = [...this.out, ...(this.options ? [this.options] : []), ...(this.held ?? [])]
    this.out = []
    this.options = undefined
    this.held = undefined
    return out
  }
}

function parsed(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return undefined
  }
}

/** Whether a call's body may need its usage asked for: OpenAI-style chat (see withUsageRequested). */
export const mayAskUsage = (style: KeyStyle, path: string) => style === 'bearer' && path === 'chat/completions'
