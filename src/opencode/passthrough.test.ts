import { describe, expect, it } from 'vitest'
import { passthroughDecision, redactCredentials } from './passthrough'

describe('passthroughDecision', () => {
  it.each([
    ['GET', '/session', false],
    ['POST', '/session/ses_1/message', false],
    ['GET', '/event', false],
    ['POST', '/mcp', false],
    ['GET', '/config', true],
    ['GET', '/config/providers', true],
    ['GET', '/global/config', true],
    ['GET', '/provider', true],
  ])('forwards %s %s (redacted: %s)', (method, path, redact) => {
    expect(passthroughDecision(method, path)).toEqual({ action: 'forward', redact })
  })

  it.each([
    ['PATCH', '/config'],
    ['PATCH', '/global/config'],
    ['PUT', '/auth/openai'],
    ['GET', '/auth/openai'],
    ['DELETE', '/auth/anthropic'],
    ['POST', '/provider/openai/oauth/authorize'],
    ['POST', '/provider'],
    ['POST', '/global/dispose'],
    ['POST', '/instance/dispose'],
    ['DELETE', '/session/ses_1'],
    ['GET', '/session/../config'],
    ['GET', '/session/..%2Fconfig'],
    ['GET', '/./auth'],
    ['GET', 'config'],
  ])('refuses %s %s', (method, path) => {
    expect(passthroughDecision(method, path).action).toBe('refuse')
  })
})

describe('redactCredentials', () => {
  it('drops every apiKey and headers field, at any depth, and keeps the rest', () => {
    const config = {
      model: 'scripted/echo',
      provider: { scripted: { options: { baseURL: 'https://gw/v1/gateway/scripted', apiKey: 'gw-token', headers: { x: 'y' } }, models: { echo: {} } } },
      list: [{ apiKey: 'k', name: 'a' }],
    }
    expect(redactCredentials(config)).toEqual({
      model: 'scripted/echo',
      provider: { scripted: { options: { baseURL: 'https://gw/v1/gateway/scripted' }, models: { echo: {} } } },
      list: [{ name: 'a' }],
    })
  })
})
