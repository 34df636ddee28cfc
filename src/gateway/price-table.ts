/**
 * What the current models of each provider the gateway knows cost, USD per million tokens, so
 * that a call is priced (and a cost cap holds) without the deployment writing a `cost` for it.
 * A model's `cost` in OPENCODE_CONFIG overrides its row here.
 *
 * As of 2025-11-01, from each provider's public price page:
 *   https://www.anthropic.com/pricing (API), https://openai.com/api/pricing,
 *   https://ai.google.dev/gemini-api/docs/pricing (prompts up to 200k tokens),
 *   https://groq.com/pricing, https://mistral.ai/pricing, https://api-docs.deepseek.com/quick_start/pricing,
 *   https://docs.x.ai/docs/models.
 * Checked again on 2026-12-06 against stored copies of those pages and of price guides that
 * cite them (no live fetch): the Anthropic rows through Opus 4.1, Sonnet 4, Haiku 3.5 and 3 (cache
 * prices too), the DeepSeek rows and xAI's grok-3 rows agree with the providers' own pages; the
 * rows marked "2026" were added then from the guides (Anthropic's 4.6 models, OpenAI's 5.2, 5.4 and
 * 5.5, Google's Gemini 3, xAI's 4.1 Fast and 4.20, Mistral's Devstral 2), and Groq's gpt-oss-120b
 * corrected. The rest (the Groq, Mistral and older OpenAI and Google rows, grok-4 and grok-code)
 * stand as written. Long-prompt surcharges (Gemini Pro and Claude Sonnet past 200k input tokens)
 * are not modelled: such a call is charged the base price.
 * OpenRouter's models are priced by the row of the provider they name (`anthropic/claude-sonnet-4.5`).
 *
 * Keys are families: a dated or versioned id (`gpt-4o-2024-08-06`, `claude-3-5-haiku-20241022`,
 * `mistral-large-latest`) is priced by its family (see prices.ts). `outputLimit` is the most
 * output tokens one call can ask for, where the provider states it: it bounds what a call that
 * names no `max_tokens` is reserved for.
 */

export const PRICES_AS_OF = '2025-11-01'

export type ModelPrice = {
  input: number
  output: number
  /** cached input read back; the input price where absent */
  cacheRead?: number
  /** input written to the cache; the input price where absent */
  cacheWrite?: number
  outputLimit?: number
}

export const PRICE_TABLE: Record<string, Record<string, ModelPrice>> = {
  anthropic: {
    // 2026
    'claude-opus-4-6': { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25, outputLimit: 128_000 },
    'claude-sonnet-4-6': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, outputLimit: 64_000 },
    'claude-opus-4-5': { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25, outputLimit: 64_000 },
    'claude-opus-4-1': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75, outputLimit: 32_000 },
    'claude-opus-4': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75, outputLimit: 32_000 },
    'claude-sonnet-4-5': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, outputLimit: 64_000 },
    'claude-sonnet-4': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, outputLimit: 64_000 },
    'claude-haiku-4-5': { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25, outputLimit: 64_000 },
    'claude-3-7-sonnet': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, outputLimit: 64_000 },
    'claude-3-5-sonnet': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, outputLimit: 8_192 },
    'claude-3-5-haiku': { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1, outputLimit: 8_192 },
    'claude-3-opus': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75, outputLimit: 4_096 },
    'claude-3-haiku': { input: 0.25, output: 1.25, cacheRead: 0.03, cacheWrite: 0.3, outputLimit: 4_096 },
  },
  openai: {
    // 2026
    'gpt-5-5': { input: 5, output: 30, cacheRead: 0.5, outputLimit: 128_000 },
    'gpt-5-4': { input: 2.5, output: 15, cacheRead: 0.25, outputLimit: 128_000 },
    'gpt-5-4-mini': { input: 0.75, output: 4.5, cacheRead: 0.075, outputLimit: 128_000 },
    'gpt-5-4-nano': { input: 0.2, output: 1.25, cacheRead: 0.02, outputLimit: 128_000 },
    'gpt-5-2': { input: 1.75, output: 14, cacheRead: 0.175, outputLimit: 128_000 },
    'gpt-5-1': { input: 1.25, output: 10, cacheRead: 0.125, outputLimit: 128_000 },
    'gpt-5': { input: 1.25, output: 10, cacheRead: 0.125, outputLimit: 128_000 },
    'gpt-5-mini': { input: 0.25, output: 2, cacheRead: 0.025, outputLimit: 128_000 },
    'gpt-5-nano': { input: 0.05, output: 0.4, cacheRead: 0.005, outputLimit: 128_000 },
    'gpt-5-codex': { input: 1.25, output: 10, cacheRead: 0.125, outputLimit: 128_000 },
    'gpt-4-1': { input: 2, output: 8, cacheRead: 0.5, outputLimit: 32_768 },
    'gpt-4-1-mini': { input: 0.4, output: 1.6, cacheRead: 0.1, outputLimit: 32_768 },
    'gpt-4-1-nano': { input: 0.1, output: 0.4, cacheRead: 0.025, outputLimit: 32_768 },
    'gpt-4o': { input: 2.5, output: 10, cacheRead: 1.25, outputLimit: 16_384 },
    'gpt-4o-mini': { input: 0.15, output: 0.6, cacheRead: 0.075, outputLimit: 16_384 },
    o3: { input: 2, output: 8, cacheRead: 0.5, outputLimit: 100_000 },
    'o3-mini': { input: 1.1, output: 4.4, cacheRead: 0.55, outputLimit: 100_000 },
    'o4-mini': { input: 1.1, output: 4.4, cacheRead: 0.275, outputLimit: 100_000 },
    o1: { input: 15, output: 60, cacheRead: 7.5, outputLimit: 100_000 },
    'gpt-4-turbo': { input: 10, output: 30, outputLimit: 4_096 },
    'gpt-3-5-turbo': { input: 0.5, output: 1.5, outputLimit: 4_096 },
  },
  google: {
    // 2026 (Gemini 3 is a preview: `gemini-3-pro-preview` is priced by its family)
    'gemini-3-pro': { input: 2, output: 12, cacheRead: 0.2, outputLimit: 65_536 },
    'gemini-3-flash': { input: 0.5, output: 3, cacheRead: 0.05, outputLimit: 65_536 },
    'gemini-2-5-pro': { input: 1.25, output: 10, cacheRead: 0.125, outputLimit: 65_536 },
    'gemini-2-5-flash': { input: 0.3, output: 2.5, cacheRead: 0.03, outputLimit: 65_536 },
    'gemini-2-5-flash-lite': { input: 0.1, output: 0.4, cacheRead: 0.01, outputLimit: 65_536 },
    'gemini-2-0-flash': { input: 0.1, output: 0.4, cacheRead: 0.025, outputLimit: 8_192 },
    'gemini-2-0-flash-lite': { input: 0.075, output: 0.3, outputLimit: 8_192 },
    'gemini-1-5-pro': { input: 1.25, output: 5, outputLimit: 8_192 },
    'gemini-1-5-flash': { input: 0.075, output: 0.3, outputLimit: 8_192 },
  },
  groq: {
    'llama-3-3-70b-versatile': { input: 0.59, output: 0.79, outputLimit: 32_768 },
    'llama-3-1-8b-instant': { input: 0.05, output: 0.08, outputLimit: 131_072 },
    'openai/gpt-oss-120b': { input: 0.15, output: 0.6, cacheRead: 0.075, outputLimit: 65_536 },
    'openai/gpt-oss-20b': { input: 0.1, output: 0.5, outputLimit: 65_536 },
    'moonshotai/kimi-k2-instruct': { input: 1, output: 3, outputLimit: 16_384 },
    'qwen/qwen3-32b': { input: 0.29, output: 0.59, outputLimit: 40_960 },
  },
  mistral: {
    'mistral-large': { input: 2, output: 6 },
    'mistral-medium': { input: 0.4, output: 2 },
    'mistral-small': { input: 0.1, output: 0.3 },
    codestral: { input: 0.3, output: 0.9 },
    // 2026: Devstral 2 (`devstral-2512`)
    devstral: { input: 0.4, output: 2 },
    'devstral-medium': { input: 0.4, output: 2 },
    'devstral-small': { input: 0.1, output: 0.3 },
    'magistral-medium': { input: 2, output: 5 },
    'magistral-small': { input: 0.5, output: 1.5 },
  },
  deepseek: {
    'deepseek-chat': { input: 0.28, output: 0.42, cacheRead: 0.028, outputLimit: 8_192 },
    'deepseek-reasoner': { input: 0.28, output: 0.42, cacheRead: 0.028, outputLimit: 65_536 },
  },
  xai: {
    // 2026
    'grok-4.20-0309-reasoning': { input: 2, output: 6, cacheRead: 0.2 },
    'grok-4.20-0309-non-reasoning': { input: 2, output: 6, cacheRead: 0.2 },
    'grok-4.20-multi-agent': { input: 2, output: 6, cacheRead: 0.2 },
    'grok-4-1-fast-reasoning': { input: 0.2, output: 0.5, cacheRead: 0.05 },
    'grok-4-1-fast-non-reasoning': { input: 0.2, output: 0.5, cacheRead: 0.05 },
    'grok-4': { input: 3, output: 15, cacheRead: 0.75 },
    'grok-4-fast-reasoning': { input: 0.2, output: 0.5, cacheRead: 0.05 },
    'grok-4-fast-non-reasoning': { input: 0.2, output: 0.5, cacheRead: 0.05 },
    'grok-code-fast-1': { input: 0.2, output: 1.5, cacheRead: 0.02 },
    'grok-3': { input: 3, output: 15, cacheRead: 0.75 },
    'grok-3-mini': { input: 0.3, output: 0.5, cacheRead: 0.075 },
  },
}

/** OpenRouter's name for a provider (`mistralai/…`, `x-ai/…`) where it is not the gateway's. */
export const OPENROUTER_VENDORS: Record<string, string> = {
  anthropic: 'anthropic',
  openai: 'openai',
  google: 'google',
  mistralai: 'mistral',
  deepseek: 'deepseek',
  'x-ai': 'xai',
}
