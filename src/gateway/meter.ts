/**
 * What a model call used, read from the provider's own answer as it streams through the gateway:
 * a streamed answer (Server-Sent Events, `data:` lines) or a plain JSON one. The counts are the
 * provider's, so the sandbox cannot under-report them.
 */

import type { ModelPrice } from './price-table'

/**
 * What a call used. `inputTokens` is the input not read from or written to a cache; the cached
 * parts are counted apart, since they are priced apart. `stated` is whether the provider said
 * how much output it made: an answer without it (cut, or usage left out) is charged its reservation.
 */
export type Metered = { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; model?: string; stated?: boolean }

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined)

export const noUsage = (): Metered => ({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 })

/** One usage object, in any of the shapes providers use. */
function readUsage(usage: Json): Partial<Metered> {
  const out: Partial<Metered> = {}
  const details = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : isObject(usage.input_tokens_details) ? usage.input_tokens_details : {}
  // OpenAI (chat: prompt_tokens; responses: input_tokens with input_tokens_details) counts cached input inside the input.
  const whole = num(usage.prompt_tokens) ?? (isObject(usage.input_tokens_details) ? num(usage.input_tokens) : undefined)
  if (whole !== undefined) {
    const cached = Math.min(whole, num(details.cached_tokens) ?? 0)
    out.inputTokens = whole - cached
    out.cacheReadTokens = cached
  } else {
    // Anthropic: input_tokens is what no cache held; reads and writes of the cache come beside it.
    const input = num(usage.input_tokens)
    if (input !== undefined) out.inputTokens = input
    const read = num(usage.cache_read_input_tokens)
    const write = num(usage.cache_creation_input_tokens)
    if (read !== undefined) out.cacheReadTokens = read
    if (write !== undefined) out.cacheWriteTokens = write
  }
  const output = num(usage.completion_tokens) ?? num(usage.output_tokens)
  if (output !== undefined) {
    out.outputTokens = output
    out.stated = true
  }
  return out
}

/** The usage one message of a provider states, in any of the shapes providers use. */
export function usageIn(message: unknown): Partial<Metered> {
  if (!isObject(message)) return {}
  const out: Partial<Metered> = {}
  const model = message.model ?? (isObject(message.message) ? message.message.model : undefined) ?? message.modelVersion
  if (typeof model === 'string') out.model = model
  const usages = [message.usage, isObject(message.message) ? message.message.usage : undefined, isObject(message.response) ? message.response.usage : undefined]
  for (const usage of usages.filter(isObject)) Object.assign(out, readUsage(usage))
  const google = message.usageMetadata
  if (isObject(google)) {
    const prompt = num(google.promptTokenCount)
    const cached = Math.min(prompt ?? 0, num(google.cachedContentTokenCount) ?? 0)
    const output = sum(num(google.candidatesTokenCount), num(google.thoughtsTokenCount))
    if (prompt !== undefined) {
      out.inputTokens = prompt - cached
      out.cacheReadTokens = cached
    }
    if (output !== undefined) {
      out.outputTokens = output
      out.stated = true
    }
  }
  return out
}

function sum(...values: (number | undefined)[]): number | undefined {
  const present = values.filter((v): v is number => v !== undefined)
  return present.length ? present.reduce((a, b) => a + b, 0) : undefined
}

/**
 * Reads a response as it passes: every complete line is looked at once, and the largest count
 * seen for each side wins (providers repeat cumulative counts; none sends per-chunk deltas).
 */
export class UsageMeter {
  private rest = ''
  private readonly decoder = new TextDecoder()
  private readonly seen: Metered = noUsage()
  /** a body that is one JSON document, kept whole up to MAX_WHOLE to be read at the end */
  private whole = ''
  /** past MAX_WHOLE, only the body's end is kept, where providers put a plain answer's usage */
  private tail = ''
  private static readonly MAX_WHOLE = 4 * 1024 * 1024
  private static readonly TAIL = 64 * 1024

  constructor(private readonly streamed: boolean) {}

  push(chunk: Uint8Array) {
    const text = this.decoder.decode(chunk, { stream: true })
    if (!this.streamed) {
      if (this.whole.length + text.length <= UsageMeter.MAX_WHOLE && !this.tail) this.whole += text
      else this.tail = (this.whole + this.tail + text).slice(-UsageMeter.TAIL)
      if (this.tail) this.whole = ''
      return
    }
    const buffer = this.rest + text
    const end = buffer.lastIndexOf('\n')
    if (end < 0) {
      this.rest = buffer
      return
    }
    this.rest = buffer.slice(end + 1)
    // Most lines are pieces of the answer: only those that can state usage, or the model while
    // it is unknown, are parsed, so a long answer costs a substring search per chunk.
    const complete = buffer.slice(0, end)
    if (this.skips(complete)) return
    for (const line of complete.split('\n')) if (!this.skips(line)) this.line(line)
  }

  private skips(text: string): boolean {
    return !text.includes('"usage') && (this.seen.model !== undefined || !text.includes('"model'))
  }

  finish(): Metered {
    if (this.streamed && !this.skips(this.rest)) this.line(this.rest)
    else if (this.tail) for (const usage of usagesInTail(this.tail)) this.take(usage)
    else this.take(this.whole)
    this.rest = ''
    this.whole = ''
    this.tail = ''
    return { ...this.seen }
  }

  private line(line: string) {
    const data = /^data:\s?(.*)$/.exec(line.trim())?.[1]
    if (data && data !== '[DONE]') this.take(data)
  }

  private take(text: string) {
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return
    }
    for (const m of Array.isArray(message) ? message : [message]) {
      const u = usageIn(m)
      if (u.model) this.seen.model = u.model
      if (u.stated) this.seen.stated = true
      for (const k of ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens'] as const) this.seen[k] = Math.max(this.seen[k], u[k] ?? 0)
    }
  }
}

/**
 * The usage objects at the end of a JSON body too large to keep whole, each as a small document
 * of its own (`{"usage": {…}}`): the last `"usage"` and `"usageMetadata"` key, and the object
 * that follows it, braces balanced (usage objects hold numbers and objects, never strings with braces).
 */
export function usagesInTail(tail: string): string[] {
  const out: string[] = []
  for (const key of ['"usage"', '"usageMetadata"']) {
    const at = tail.lastIndexOf(key)
    const open = at < 0 ? -1 : tail.indexOf('{', at + key.length)
    if (open < 0 || !/^\s*:\s*$/.test(tail.slice(at + key.length, open))) continue
    let depth = 0
    for (let i = open; i < tail.length; i++) {
      if (tail[i] === '{') depth++
      else if (tail[i] === '}' && --depth === 0) {
        out.push(`{${key}:${tail.slice(open, i + 1)}}`)
        break
      }
    }
  }
  return out
}

/** The cost of a call at `price` (USD per million tokens), 0 where there is none; cached input at its own prices. */
export function costOf(usage: Metered, price: ModelPrice | undefined): number {
  if (!price) return 0
  const tokens =
    usage.inputTokens * price.input +
    usage.outputTokens * price.output +
    usage.cacheReadTokens * (price.cacheRead ?? price.input) +
    usage.cacheWriteTokens * (price.cacheWrite ?? price.input)
  return tokens / 1_000_000
}
