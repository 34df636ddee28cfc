import { describe, expect, it } from 'vitest'
import { budgetWarning, checkBudget } from './budget'
import { costOf, UsageMeter, usageIn } from './meter'
import { modelRoutes, routeFor, tokenOf, upstreamHeaders, upstreamUrl } from './routes'
import { newGatewayToken, readGatewayToken } from './token'
import { gatewayTokenKey } from './token-key'

const enc = new TextEncoder()

describe('modelRoutes', () => {
  it('routes providers with a deployment key and every configured provider with a URL, keeping their keys in the Worker', () => {
    const routes = modelRoutes(
      {
        provider: {
          local: { npm: '@ai-sdk/openai-compatible', options: { baseURL: 'http://m/v1/', apiKey: 'k-local' }, models: { a: { cost: { input: 1, output: 2 } } } },
          claude: { npm: '@ai-sdk/anthropic', options: { baseURL: 'https://proxy/anthropic' } },
          nowhere: { options: {} },
        },
      },
      { ANTHROPIC_API_KEY: 'k-ant', GEMINI_API_KEY: 'k-gem' },
    )
    expect([...routes.keys()].sort()).toEqual(['anthropic', 'claude', 'google', 'local'])
    expect(routes.get('local')).toMatchObject({ baseURL: 'http://m/v1', keyStyle: 'bearer', key: 'k-local', prices: { a: { input: 1, output: 2 } } })
    expect(routes.get('claude')).toMatchObject({ keyStyle: 'anthropic', key: undefined })
    expect(routes.get('google')).toMatchObject({ keyStyle: 'google', key: 'k-gem' })
    expect(routeFor(routes, 'openai')).toEqual({ id: 'openai', baseURL: 'https://api.openai.com/v1', keyStyle: 'bearer', prices: {} })
    expect(routeFor(routes, 'made-up')).toBeUndefined()
  })
})

describe('forwarding', () => {
  const route = { id: 'anthropic', baseURL: 'https://api.anthropic.com/v1', keyStyle: 'anthropic' as const, key: 'real', prices: {} }

  it.each([
    [{ authorization: 'Bearer tok' }, '', 'tok'],
    [{ 'x-api-key': 'tok' }, '', 'tok'],
    [{ 'x-goog-api-key': 'tok' }, '', 'tok'],
    [{}, 'key=tok', 'tok'],
    [{}, '', undefined],
  ])('finds the token in %j %s', (headers, query, expected) => {
    expect(tokenOf(new Headers(headers), new URLSearchParams(query))).toBe(expected)
  })

  it("swaps the sandbox's token for the real key in the provider's own header, and sends on only what a model call needs", () => {
    const incoming = new Headers({
      authorization: 'Bearer tok',
      'x-api-key': 'tok',
      'anthropic-version': '2023-06-01',
      'content-type': 'application/json',
      'openai-organization': 'org-other',
      'openai-project': 'proj-other',
      cookie: 'a=b',
      host: 'worker',
      'cf-ray': '1',
    })
    const out = upstreamHeaders(incoming, route, 'real')
    expect([...out]).toEqual([
      ['anthropic-version', '2023-06-01'],
      ['content-type', 'application/json'],
      ['x-api-key', 'real'],
    ])
    const configured = { ...route, keyStyle: 'bearer' as const, headers: { 'OpenAI-Organization': 'org-own' } }
    const bearer = upstreamHeaders(new Headers({ 'openai-organization': 'org-other' }), configured, 'k')
    expect([bearer.get('authorization'), bearer.get('openai-organization')]).toEqual(['Bearer k', 'org-own'])
    expect(upstreamHeaders(new Headers(), { ...route, keyStyle: 'google' }, 'k').get('x-goog-api-key')).toBe('k')
  })

  it('builds the provider URL below its base, and nowhere else', () => {
    expect(upstreamUrl(route, 'messages', new URLSearchParams('beta=true&key=tok'))).toBe('https://api.anthropic.com/v1/messages?beta=true')
    const google = { ...route, baseURL: 'https://generativelanguage.googleapis.com/v1beta' }
    expect(upstreamUrl(google, 'models/gemini-2.5-pro:streamGenerateContent', new URLSearchParams('alt=sse'))).toBe(
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
    )
    for (const path of ['../admin', 'a/../../b', '%2e%2e/admin', '.\t./.\t./x', '']) {
      expect(upstreamUrl(route, path, new URLSearchParams())).toBeUndefined()
    }
  })
})

describe('metering', () => {
  it.each([
    ['OpenAI chat', { model: 'gpt', usage: { prompt_tokens: 10, completion_tokens: 5 } }, { model: 'gpt', inputTokens: 10, cacheReadTokens: 0, outputTokens: 5, stated: true }],
    [
      'OpenAI chat, cached',
      { usage: { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 4 } } },
      { inputTokens: 6, cacheReadTokens: 4, outputTokens: 5, stated: true },
    ],
    [
      'OpenAI responses',
      { type: 'response.completed', response: { usage: { input_tokens: 9, input_tokens_details: { cached_tokens: 2 }, output_tokens: 3 } } },
      { inputTokens: 7, cacheReadTokens: 2, outputTokens: 3, stated: true },
    ],
    [
      'Anthropic start',
      { type: 'message_start', message: { model: 'claude', usage: { input_tokens: 7, cache_read_input_tokens: 3, cache_creation_input_tokens: 2, output_tokens: 1 } } },
      { model: 'claude', inputTokens: 7, cacheReadTokens: 3, cacheWriteTokens: 2, outputTokens: 1, stated: true },
    ],
    ['Anthropic delta', { type: 'message_delta', usage: { output_tokens: 40 } }, { outputTokens: 40, stated: true }],
    [
      'Google',
      { usageMetadata: { promptTokenCount: 4, cachedContentTokenCount: 1, candidatesTokenCount: 6, thoughtsTokenCount: 2 }, modelVersion: 'gemini' },
      { model: 'gemini', inputTokens: 3, cacheReadTokens: 1, outputTokens: 8, stated: true },
    ],
    ['no usage', { choices: [] }, {}],
  ])('reads %s', (_name, message, expected) => {
    expect(usageIn(message)).toEqual(expected)
  })

  it('reads a stream split anywhere, keeping the largest cumulative counts', () => {
    const stream =
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude","usage":{"input_tokens":12,"output_tokens":1}}}\n\n' +
      'data: {"type":"message_delta","usage":{"output_tokens":30}}\n\n' +
      'data: {"type":"message_delta","usage":{"output_tokens":55}}\n\ndata: [DONE]'
    const meter = new UsageMeter(true)
    for (let i = 0; i < stream.length; i += 7) meter.push(enc.encode(stream.slice(i, i + 7)))
    expect(meter.finish()).toEqual({ model: 'claude', inputTokens: 12, outputTokens: 55, cacheReadTokens: 0, cacheWriteTokens: 0, stated: true })
  })

  it('reads the model and the final usage of an OpenAI stream among its pieces', () => {
    const piece = (content: string) => `data: {"id":"c","model":"gpt","choices":[{"index":0,"delta":{"content":"${content}"}}]}\n\n`
    const stream =
      Array.from({ length: 50 }, (_, i) => piece(`w${i} with "usage in its text`)).join('') +
      'data: {"id":"c","model":"gpt","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":50}}\n\ndata: [DONE]\n\n'
    const meter = new UsageMeter(true)
    for (let i = 0; i < stream.length; i += 5) meter.push(enc.encode(stream.slice(i, i + 5)))
    expect(meter.finish()).toEqual({ model: 'gpt', inputTokens: 9, outputTokens: 50, cacheReadTokens: 0, cacheWriteTokens: 0, stated: true })
  })

  it('reads a whole JSON answer', () => {
    const meter = new UsageMeter(false)
    meter.push(enc.encode('{"model":"gpt","usage":{"prompt_tokens":3,'))
    meter.push(enc.encode('"completion_tokens":4}}'))
    expect(meter.finish()).toEqual({ model: 'gpt', inputTokens: 3, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0, stated: true })
  })

  it('reads the usage at the end of a JSON answer of any size', () => {
    const meter = new UsageMeter(false)
    meter.push(enc.encode('{"model":"gpt","choices":[{"message":{"content":"'))
    const mb = 'x'.repeat(1024 * 1024)
    for (let i = 0; i < 6; i++) meter.push(enc.encode(mb))
    meter.push(enc.encode('"}}],"usage":{"prompt_tokens":3,"completion_tokens":1500000,"prompt_tokens_details":{"cached_tokens":1}}}'))
    expect(meter.finish()).toMatchObject({ inputTokens: 2, cacheReadTokens: 1, outputTokens: 1_500_000, stated: true })
  })

  it('prices by the million, and not at all without a price', () => {
    const used = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheWriteTokens = 0) => ({ inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens })
    expect(costOf(used(1_000_000, 500_000), { input: 3, output: 15 })).toBe(10.5)
    expect(costOf(used(1_000_000, 1), undefined)).toBe(0)
    // cache reads and writes at their own prices, or at the input's where none is given
    expect(costOf(used(0, 0, 1_000_000, 1_000_000), { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 })).toBeCloseTo(4.05, 10)
    expect(costOf(used(0, 0, 1_000_000, 1_000_000), { input: 3, output: 15 })).toBe(6)
  })
})

describe('checkBudget', () => {
  it.each([
    [undefined, { cost: 99, outputTokens: 99 }, undefined, true],
    [{ maxCostUsd: 1 }, { cost: 0.99, outputTokens: 0 }, undefined, true],
    [{ maxCostUsd: 1 }, { cost: 1, outputTokens: 0 }, undefined, false],
    [{ maxOutputTokens: 10 }, { cost: 0, outputTokens: 10 }, undefined, false],
    [{}, { cost: 0, outputTokens: 0 }, { today: 5, month: 5, capPerDay: 5 }, false],
    [{}, { cost: 0, outputTokens: 0 }, { today: 4, month: 4, capPerDay: 5 }, true],
    [{}, { cost: 0, outputTokens: 0 }, { today: 1, month: 50, capPerDay: 5, capPerMonth: 50 }, false],
    [{}, { cost: 0, outputTokens: 0 }, { today: 1, month: 49, capPerMonth: 50 }, true],
    // other sessions' calls in flight count against the tenant's caps
    [{}, { cost: 0, outputTokens: 0 }, { today: 4, month: 4, reserved: 1, capPerDay: 5 }, false],
    [{}, { cost: 0, outputTokens: 0 }, { today: 1, month: 49, reserved: 1, capPerMonth: 50 }, false],
    [{}, { cost: 0, outputTokens: 0 }, { today: 3, month: 3, reserved: 1.5, capPerDay: 5 }, true],
  ])('limits %j, spent %j, tenant %j -> %s', (limits, spent, tenant, expected) => {
    expect(checkBudget(limits, spent, tenant).ok).toBe(expected)
  })
})

describe('budgetWarning', () => {
  it('names the first cost cap spend has reached 80% of, and none below', () => {
    expect(budgetWarning({ maxCostUsd: 10 }, 7.99)).toBeUndefined()
    expect(budgetWarning({ maxCostUsd: 10 }, 8)).toMatchObject({ spentUsd: 8, limitUsd: 10 })
    expect(budgetWarning(undefined, 0, { today: 1, month: 41, capPerDay: 5, capPerMonth: 50 })).toMatchObject({ spentUsd: 41, limitUsd: 50 })
    expect(budgetWarning({ maxOutputTokens: 5 }, 100)).toBeUndefined()
    // calls in flight are not spent yet
    expect(budgetWarning(undefined, 0, { today: 1, month: 1, reserved: 4, capPerDay: 5 })).toBeUndefined()
  })
})

describe('gateway tokens', () => {
  const keyOf = (text: string) => gatewayTokenKey(text, () => Promise.reject(new Error('no fallback needed')))
  const owner = 'ses_0123456789abcdefghjk'

  it('name their owner, keep only a digest of their secret, and carry a MAC under the deployment key', async () => {
    const key = await keyOf('k'.repeat(32))
    const t = await newGatewayToken(owner, key)
    expect(await readGatewayToken(t.token, key)).toEqual({ owner, digest: t.digest })
    expect(t.token).not.toContain(t.digest)
    const [, secret, mac] = t.token.split('.') as [string, string, string]
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('0') ? '1' : '0'}`
    for (const bad of [
      undefined,
      '',
      owner,
      `${owner}.${secret}`,
      `run_0123456789abcdefghjk.${secret}.${mac}`,
      `ses_0123456789abcdefghjm.${secret}.${mac}`,
      `${owner}.${secret}.${flipped}`,
      `${owner}.${'0'.repeat(48)}.${mac}`,
      `${t.token}0`,
    ]) {
      expect(await readGatewayToken(bad, key)).toBeUndefined()
    }
    expect(await readGatewayToken(t.token, await keyOf('o'.repeat(32)))).toBeUndefined()
  })

  it('are keyed from SECRETS_KEY when it is one, else from the deployment key the fallback keeps', async () => {
    const fromPool = await gatewayTokenKey(undefined, async () => 'p'.repeat(64))
    const t = await newGatewayToken(owner, fromPool)
    expect(await readGatewayToken(t.token, await gatewayTokenKey('short', async () => 'p'.repeat(64)))).toBeDefined()
    expect(await readGatewayToken(t.token, await keyOf('p'.repeat(64)))).toBeDefined()
    expect(await readGatewayToken(t.token, await keyOf('s'.repeat(32)))).toBeUndefined()
  })
})
