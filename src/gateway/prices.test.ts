import { describe, expect, it } from 'vitest'
import { PRICE_TABLE } from './price-table'
import { familiesOf, priceOf } from './prices'

const known = (id: string, keyStyle: 'anthropic' | 'google' | 'bearer' = 'bearer') => ({ id, keyStyle, prices: {} })

describe('priceOf', () => {
  it.each([
    ['openai', 'gpt-4o-2024-08-06', PRICE_TABLE.openai!['gpt-4o']],
    ['openai', 'gpt-4o-mini-2024-07-18', PRICE_TABLE.openai!['gpt-4o-mini']],
    ['openai', 'gpt-4.1', PRICE_TABLE.openai!['gpt-4-1']],
    ['anthropic', 'claude-3-5-haiku-20241022', PRICE_TABLE.anthropic!['claude-3-5-haiku']],
    ['anthropic', 'claude-sonnet-4-5-20250929', PRICE_TABLE.anthropic!['claude-sonnet-4-5']],
    ['anthropic', 'claude-opus-4-1-20250805', PRICE_TABLE.anthropic!['claude-opus-4-1']],
    ['google', 'gemini-2.0-flash-001', PRICE_TABLE.google!['gemini-2-0-flash']],
    ['google', 'gemini-2.5-flash-preview-09-2025', PRICE_TABLE.google!['gemini-2-5-flash']],
    ['mistral', 'mistral-large-latest', PRICE_TABLE.mistral!['mistral-large']],
    ['mistral', 'mistral-large-2411', PRICE_TABLE.mistral!['mistral-large']],
    ['xai', 'grok-4-0709', PRICE_TABLE.xai!['grok-4']],
    ['groq', 'llama-3.3-70b-versatile', PRICE_TABLE.groq!['llama-3-3-70b-versatile']],
    ['deepseek', 'deepseek-chat', PRICE_TABLE.deepseek!['deepseek-chat']],
    ['openrouter', 'anthropic/claude-sonnet-4.5', PRICE_TABLE.anthropic!['claude-sonnet-4-5']],
    ['openrouter', 'x-ai/grok-4', PRICE_TABLE.xai!['grok-4']],
    // the models added on the 2026 check, by the ids their providers publish
    ['anthropic', 'claude-opus-4-6', PRICE_TABLE.anthropic!['claude-opus-4-6']],
    ['openai', 'gpt-5.4-mini-2026-03-17', PRICE_TABLE.openai!['gpt-5-4-mini']],
    ['openai', 'gpt-5.2', PRICE_TABLE.openai!['gpt-5-2']],
    ['google', 'gemini-3-pro-preview', PRICE_TABLE.google!['gemini-3-pro']],
    ['google', 'gemini-3-flash-preview', PRICE_TABLE.google!['gemini-3-flash']],
    ['xai', 'grok-4.20-0309-reasoning', PRICE_TABLE.xai!['grok-4.20-0309-reasoning']],
    ['xai', 'grok-4.20-multi-agent-0309', PRICE_TABLE.xai!['grok-4.20-multi-agent']],
    ['xai', 'grok-4-1-fast-non-reasoning', PRICE_TABLE.xai!['grok-4-1-fast-non-reasoning']],
    ['mistral', 'devstral-2512', PRICE_TABLE.mistral!.devstral],
    ['groq', 'openai/gpt-oss-120b', PRICE_TABLE.groq!['openai/gpt-oss-120b']],
  ])('prices %s %s by its family', (provider, model, price) => {
    expect(price).toBeDefined()
    expect(priceOf(known(provider), model)).toEqual(price)
  })

  it('prices nothing it does not know, and never a different model of the same prefix', () => {
    expect(priceOf(known('openai'), 'gpt-7-ultra')).toBeUndefined()
    expect(priceOf(known('local'), 'gpt-4o')).toBeUndefined()
    expect(priceOf(known('openrouter'), 'someone/gpt-4o')).toBeUndefined()
    expect(priceOf(known('openai'), 'gpt-4o-mini-2024-07-18')).not.toEqual(PRICE_TABLE.openai!['gpt-4o'])
    expect(priceOf(known('openai'), 'gpt-5.4-nano')).not.toEqual(PRICE_TABLE.openai!['gpt-5-4'])
  })

  it("takes the deployment's own cost first, and a provider of another name by the API it speaks", () => {
    const own = { input: 9, output: 99 }
    expect(priceOf({ id: 'openai', keyStyle: 'bearer', prices: { 'gpt-4o': own } }, 'gpt-4o-2024-08-06')).toEqual(own)
    expect(priceOf(known('claude-proxy', 'anthropic'), 'claude-3-5-haiku-latest')).toEqual(PRICE_TABLE.anthropic!['claude-3-5-haiku'])
  })

  it('drops release suffixes one at a time', () => {
    expect(familiesOf('Claude-Sonnet-4@20250514')).toEqual(['claude-sonnet-4-20250514', 'claude-sonnet-4'])
    expect(familiesOf('deepseek/deepseek-chat:free')).toEqual(['deepseek/deepseek-chat'])
  })
})
