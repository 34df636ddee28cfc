/**
 * What a model call used, read from the provider's own answer as it streams through the gateway:
 * a streamed answer (Server-Sent Events, `data:` lines) or a plain JSON one. The counts are the
 * provider's, so the sandbox cannot under-report them.
 */

export type Metered = { inputTokens: number; outputTokens: number; model?: string }

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined)

/** The usage one message of a provider states, in any of the shapes providers use. */
export function usageIn(message: unknown): Partial<Metered> {
  if (!isObject(message)) return {}
  const out: Partial<Metered> = {}
  const model = message.model ?? (isObject(message.message) ? message.message.model : undefined) ?? message.modelVersion
  if (typeof model === 'string') out.model = model
  const usages = [message.usage, isObject(message.message) ? message.message.usage : undefined, isObject(message.response) ? message.response.usage : undefined]
  for (const usage of usages.filter(isObject)) {
    // OpenAI chat: prompt/completion; OpenAI responses and Anthropic: input/output (Anthropic's cache reads count as input)
    const input = num(usage.prompt_tokens) ?? sum(num(usage.input_tokens), num(usage.cache_read_input_tokens), num(usage.cache_creation_input_tokens))
    const output = num(usage.completion_tokens) ?? num(usage.output_tokens)
    if (input !== undefined) out.inputTokens = input
    if (output !== undefined) out.outputTokens = output
  }
  const google = message.usageMetadata
  if (isObject(google)) {
    const input = num(google.promptTokenCount)
    const output = sum(num(google.candidatesTokenCount), num(google.thoughtsTokenCount))
    if (input !== undefined) out.inputTokens = input
    if (output !== undefined) out.outputTokens = output
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
  private readonly seen: Metered = { inputTokens: 0, outputTokens: 0 }
  /** a body that is one JSON document, kept whole (bounded) to be read at the end */
  private whole = ''
  private static readonly MAX_WHOLE = 4 * 1024 * 1024

  constructor(private readonly streamed: boolean) {}

  push(chunk: Uint8Array) {
    const text = this.decoder.decode(chunk, { stream: true })
    if (!this.streamed) {
      if (this.whole.length < UsageMeter.MAX_WHOLE) this.whole += text
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
    else this.take(this.whole)
    this.rest = ''
    this.whole = ''
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
      this.seen.inputTokens = Math.max(this.seen.inputTokens, u.inputTokens ?? 0)
      this.seen.outputTokens = Math.max(this.seen.outputTokens, u.outputTokens ?? 0)
    }
  }
}

/** The cost of a call at the deployment's prices (USD per million tokens), 0 where none is configured. */
export function costOf(usage: Metered, price: { input: number; output: number } | undefined): number {
  if (!price) return 0
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000
}
