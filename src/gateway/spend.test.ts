import { describe, expect, it } from 'vitest'
import { noUsage } from './meter'
import { callShape, DEFAULT_OUTPUT_LIMIT, isPaid, reservationFor, settle, withUsageRequested } from './spend'

const price = { input: 1, output: 2, outputLimit: 8_000 }

describe('callShape', () => {
  it.each([
    ['bearer', 'chat/completions', { model: 'gpt-4o', max_tokens: 100 }, { model: 'gpt-4o', maxOutputTokens: 100 }],
    ['bearer', 'chat/completions', { model: 'o3', max_completion_tokens: 50 }, { model: 'o3', maxOutputTokens: 50 }],
    ['bearer', 'responses', { model: 'gpt-5', max_output_tokens: 70 }, { model: 'gpt-5', maxOutputTokens: 70 }],
    ['anthropic', 'messages', { model: 'claude-haiku-4-5', max_tokens: 30 }, { model: 'claude-haiku-4-5', maxOutputTokens: 30 }],
    ['google', 'models/gemini-2.5-pro:streamGenerateContent', { generationConfig: { maxOutputTokens: 9 } }, { model: 'gemini-2.5-pro', maxOutputTokens: 9 }],
    ['bearer', 'chat/completions', 'not json', {}],
  ] as const)('reads a %s call to %s', (style, path, body, expected) => {
    expect(callShape(style, path, body, 400)).toEqual({ ...expected, inputBytes: 400 })
  })

  it('knows which calls cost nothing', () => {
    expect(isPaid('POST', 'messages')).toBe(true)
    expect(isPaid('POST', 'messages/count_tokens')).toBe(false)
    expect(isPaid('POST', 'models/gemini-2.5-pro:countTokens')).toBe(false)
    expect(isPaid('GET', 'models')).toBe(false)
  })
})

describe('reservationFor', () => {
  it('reserves the output bound at the output price and the input estimate at the input price', () => {
    expect(reservationFor({ model: 'm', maxOutputTokens: 1000, inputBytes: 4000 }, price)).toEqual({ outputTokens: 1000, cost: (1000 * 2 + 1000 * 1) / 1e6 })
  })

  it("reserves a call that names no bound for its model's output limit, or the default one", () => {
    expect(reservationFor({ model: 'm', inputBytes: 0 }, price).outputTokens).toBe(8_000)
    expect(reservationFor({ model: 'm', maxOutputTokens: 1e9, inputBytes: 0 }, price).outputTokens).toBe(8_000)
    expect(reservationFor({ model: 'm', inputBytes: 0 }, { input: 1, output: 1 }).outputTokens).toBe(DEFAULT_OUTPUT_LIMIT)
  })
})

describe('settle', () => {
  const reserved = { cost: 0.01, outputTokens: 5000 }
  const used = { ...noUsage(), inputTokens: 100, outputTokens: 50, stated: true }

  it('charges a whole answer what it used, even below its reservation', () => {
    expect(settle(reserved, used, price, { whole: true, billed: true })).toMatchObject({ outputTokens: 50, cost: (100 + 100) / 1e6 })
  })

  it('charges the reservation when the answer was cut or its usage never came', () => {
    expect(settle(reserved, used, price, { whole: false, billed: true })).toMatchObject({ outputTokens: 5000, cost: 0.01 })
    expect(settle(reserved, { ...used, stated: undefined }, price, { whole: true, billed: true })).toMatchObject({ outputTokens: 5000, cost: 0.01 })
  })

  it("charges a provider's error what it says it used", () => {
    expect(settle(reserved, noUsage(), price, { whole: true, billed: false })).toMatchObject({ outputTokens: 0, cost: 0 })
  })
})

describe('withUsageRequested', () => {
  it('asks an OpenAI-style stream for its usage, and leaves everything else alone', () => {
    expect(withUsageRequested('bearer', 'chat/completions', { model: 'm', stream: true, stream_options: { x: 1 } })).toEqual({
      model: 'm',
      stream: true,
      stream_options: { x: 1, include_usage: true },
    })
    expect(withUsageRequested('bearer', 'chat/completions', { stream: true, stream_options: { include_usage: true } })).toBeUndefined()
    expect(withUsageRequested('bearer', 'chat/completions', { stream: false })).toBeUndefined()
    expect(withUsageRequested('anthropic', 'messages', { stream: true })).toBeUndefined()
  })
})
