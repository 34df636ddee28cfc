import { describe, expect, it } from 'vitest'
import { apiPath, checkCall, type KeyStyle } from './calls'

describe('checkCall', () => {
  it.each<[KeyStyle, string, string]>([
    ['anthropic', 'POST', 'messages'],
    ['anthropic', 'POST', 'messages/count_tokens'],
    ['anthropic', 'GET', 'models'],
    ['bearer', 'POST', 'chat/completions'],
    ['bearer', 'POST', 'responses'],
    ['bearer', 'POST', 'completions'],
    ['bearer', 'POST', 'embeddings'],
    ['bearer', 'GET', 'models'],
    ['google', 'POST', 'models/gemini-2.5-pro:generateContent'],
    ['google', 'POST', 'models/gemini-2.5-flash:streamGenerateContent'],
    ['google', 'POST', 'models/gemini-2.0-flash-001:countTokens'],
    ['google', 'GET', 'models'],
  ])('forwards %s %s %s', (style, method, path) => {
    expect(checkCall(style, method, path)).toEqual({ ok: true })
  })

  it.each<[KeyStyle, string, string]>([
    // what a provider key can do besides calling a model
    ['bearer', 'GET', 'files'],
    ['bearer', 'DELETE', 'files/file-1'],
    ['bearer', 'POST', 'fine_tuning/jobs'],
    ['bearer', 'POST', 'batches'],
    ['bearer', 'GET', 'organization/costs'],
    ['anthropic', 'POST', 'messages/batches'],
    ['anthropic', 'GET', 'files'],
    ['anthropic', 'DELETE', 'files/file-1'],
    ['google', 'POST', 'cachedContents'],
    ['google', 'POST', 'tunedModels'],
    ['google', 'DELETE', 'files/abc'],
    // a model call, but of another provider's API or with another method
    ['anthropic', 'POST', 'chat/completions'],
    ['bearer', 'POST', 'messages'],
    ['google', 'GET', 'models/gemini-2.5-pro:generateContent'],
    ['bearer', 'GET', 'chat/completions'],
    ['bearer', 'POST', 'models'],
    ['bearer', 'POST', 'chat/completions/extra'],
    ['google', 'POST', 'models/a/b:generateContent'],
  ])('refuses %s %s %s as no model call (403)', (style, method, path) => {
    expect(checkCall(style, method, path)).toMatchObject({ ok: false, code: 'forbidden' })
  })

  it.each([
    '.%09./.%09./x',
    '..%2F..%2Fx',
    'a%2fb',
    'a%5cb',
    'messages%00',
    '%2e%2e/x',
    '%2E/messages',
    '../x',
    './messages',
    'chat/./completions',
    'a\\b',
    'mess\tages',
    'messages\n',
    'models//x',
    '/messages',
    'messages/',
    '',
  ])('refuses %j as a path the provider could read otherwise (400)', (path) => {
    for (const style of ['anthropic', 'bearer', 'google'] as const) expect(checkCall(style, 'POST', path)).toMatchObject({ ok: false, code: 'bad_request' })
  })
})

describe('apiPath', () => {
  it('takes the version off an Anthropic SDK path (Claude Code’s), since the route’s base holds it, and leaves every other path', () => {
    expect(apiPath('anthropic', 'v1/messages')).toBe('messages')
    expect(apiPath('anthropic', 'messages')).toBe('messages')
    expect(apiPath('bearer', 'v1/responses')).toBe('v1/responses')
    // what is left is checked as any path is: a batch stays refused
    expect(checkCall('anthropic', 'POST', apiPath('anthropic', 'v1/messages/batches')).ok).toBe(false)
  })
})
