import { describe, expect, it } from 'vitest'
import { costFields, CostFieldsOnce, HEAD_BYTES, readHead, UsageAsked } from './request-body'
import { withUsageRequested } from './spend'

const encoder = new TextEncoder()

/** `text` in pieces of `size` bytes, as a body may arrive. */
function pieces(text: string, size: number): Uint8Array[] {
  const bytes = encoder.encode(text)
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size))
  return out
}

function rewritten(text: string, size: number): string {
  const asked = new UsageAsked('bearer', 'chat/completions')
  const out = pieces(text, size).flatMap((p) => asked.push(p))
  return new TextDecoder().decode(Buffer.concat(out))
}

describe('a chat request on its way through the gateway', () => {
  const bodies: Record<string, unknown>[] = [
    { model: 'm', messages: [{ role: 'user', content: 'hé "quoted" \\ back' }], stream: true },
    { model: 'm', stream: true, stream_options: { x: 1 }, messages: [{ role: 'user', content: 'a' }] },
    { model: 'm', messages: [], stream_options: { include_usage: false }, stream: true },
    { model: 'm', stream: true, stream_options: { include_usage: true }, messages: [] },
    { model: 'm', stream: false, messages: [{ content: ['{', '}', '[]'] }] },
    { model: 'm', messages: [] },
    { stream: true, stream_options: null, n: -1.5e3, ok: null, yes: true },
  ]

  it('asks for usage exactly when withUsageRequested would, split anywhere', () => {
    for (const body of bodies) {
      const text = JSON.stringify(body, null, body.n ? 1 : 0)
      const expected = withUsageRequested('bearer', 'chat/completions', body) ?? body
      for (const size of [1, 2, 3, 5, 8, 13, text.length]) expect(JSON.parse(rewritten(text, size))).toEqual(expected)
    }
  })


  it('sends a body that is not JSON on as it came', async () => {
    for (const text of ['{"stream": true, oops', 'not json', '{"stream_options":{},"m":1']) {
      for (const size of [1, 4, text.length]) expect(await throughStage(pieces(text, size))).toBe(text)
    }
  })

  it('passes a large request through whole, in the order it came', async () => {
    const big = { model: 'm', stream: true, messages: Array.from({ length: 2000 }, (_, i) => ({ role: 'user', content: `${i} ${'x'.repeat(500)}` })) }
    const text = JSON.stringify(big)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of pieces(text, 4096)) controller.enqueue(p)
        controller.close()
      },
    })
    const out = await new Response(stream.pipeThrough(new UsageAsked('bearer', 'chat/completions').transform())).text()
    expect(JSON.parse(out)).toEqual(withUsageRequested('bearer', 'chat/completions', big))
  })
})

async function throughStage(chunks: Uint8Array[]): Promise<string> {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of chunks) controller.enqueue(p)
      controller.close()
    },
  })
  return new Response(stream.pipeThrough(new UsageAsked('bearer', 'chat/completions').transform())).text()
}

describe("a request's cost fields", () => {
  it('are read from its first bytes, and those cut off count as unstated', async () => {
    const text = JSON.stringify({ model: 'gpt', max_tokens: 900, generationConfig: { maxOutputTokens: 5 }, messages: ['y'.repeat(100_000)], max_output_tokens: 7 })
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of pieces(text, 1000)) controller.enqueue(p)
        controller.close()
      },
    })
    const { head, whole, rest } = await readHead(body, 10_000)
    expect(whole).toBe(false)
    expect(costFields(head)).toEqual({ model: 'gpt', max_tokens: 900, generationConfig: { maxOutputTokens: 5 } })
    expect(await new Response(rest).text()).toBe(text)
  })
})

describe('cost fields the provider reads as the gateway did', () => {
  /** What of `text` goes on through the check, or the error that stops it. */
  async function checked(text: string, size: number): Promise<string | Error> {
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces(text, size)) controller.enqueue(piece)
        controller.close()
      },
    })
    try {
      return await new Response(source.pipeThrough(new CostFieldsOnce().transform(0))).text()
    } catch (err) {
      return err as Error
    }
  }
  const padding = 'x'.repeat(HEAD_BYTES)

  it('lets a body through untouched when each comes once and the model first, split anywhere', async () => {
    const body = JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ content: 'model "model": max_tokens' }], generationConfig: { maxOutputTokens: 3 } })
    for (const size of [1, 7, body.length]) expect(await checked(body, size)).toBe(body)
  })

  it('lets an output bound come after the conversation: it was reserved as unstated', async () => {
    const body = `{"model":"m","input":"${padding}","max_output_tokens":9}`
    expect(await checked(body, 4096)).toBe(body)
  })

  it('stops a body that gives one twice, or its model past the head', async () => {
    for (const size of [1, 5, 1000]) {
      expect(String(await checked('{"model":"cheap","messages":[],"model":"costly"}', size))).toContain('"model" is given twice')
      expect(String(await checked('{"max_tokens":5,"messages":[],"max_tokens":90000}', size))).toContain('"max_tokens" is given twice')
    }
    expect(String(await checked(`{"messages":["${padding}"],"model":"costly"}`, 4096))).toContain('"model" comes after')
  })

  it('stops a body it cannot follow, where a second model would go unseen', async () => {
    const longKey = `{"model":"cheap","${'k'.repeat(2000)}":1,"model":"costly"}`
    expect(String(await checked(longKey, 100))).toContain('JSON the gateway can read')
    expect(String(await checked('{"model":"m",,}', 3))).toContain('JSON the gateway can read')
  })

  it('reads an escaped key as the provider does', async () => {
    expect(String(await checked('{"model":"cheap","mod\\u0065l":"costly"}', 4))).toContain('"model" is given twice')
  })

  it('leaves a nested field of the same name alone', async () => {
    const body = '{"model":"m","messages":[{"model":"x","max_tokens":1}],"metadata":{"model":"y"}}'
    expect(await checked(body, 3)).toBe(body)
  })
})
