import { describe, expect, it } from 'vitest'
import type { ModelRoute } from '../gateway/routes'
import { runtimeEnv, runtimeFiles, runtimeModel } from './runtime-env'

const route = (id: string, keyStyle: ModelRoute['keyStyle'], models: string[] = []): [string, ModelRoute] => [
  id,
  { id, baseURL: `https://${id}.example/v1`, keyStyle, key: 'sk-real', prices: Object.fromEntries(models.map((m) => [m, { input: 1, output: 2 }])) },
]

describe('runtimeModel', () => {
  const routes = new Map([route('local', 'bearer', ['demo']), route('claude', 'anthropic', ['claude-haiku-4-5']), route('anthropic', 'anthropic')])

  it('takes the session’s model when its provider speaks the agent’s API, else the default’s, else the first provider that does', () => {
    expect(runtimeModel('claude-code', routes, 'anthropic/claude-opus-4-1', undefined)).toEqual({ provider: 'anthropic', model: 'claude-opus-4-1' })
    expect(runtimeModel('claude-code', routes, 'local/demo', 'anthropic/claude-sonnet-4-5')).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5' })
    expect(runtimeModel('claude-code', routes, 'local/demo', 'local/demo')).toEqual({ provider: 'claude', model: 'claude-haiku-4-5' })
  })

  it('gives Codex OpenAI’s provider unless the session named a model of another bearer provider', () => {
    const both = new Map([route('local', 'bearer', ['demo']), route('openai', 'bearer', ['gpt-4.1-mini'])])
    expect(runtimeModel('codex', both, 'local/demo', 'local/demo')).toEqual({ provider: 'openai', model: 'gpt-4.1-mini' })
    expect(runtimeModel('codex', both, 'local/other', 'local/demo')).toEqual({ provider: 'local', model: 'other' })
    expect(runtimeModel('codex', new Map([route('local', 'bearer')]), 'local/demo', 'local/demo')).toBeUndefined()
  })

  it('has none on a deployment without a provider speaking the API, and none for opencode', () => {
    expect(runtimeModel('claude-code', new Map([route('local', 'bearer')]), undefined, undefined)).toBeUndefined()
    expect(runtimeModel('opencode', routes, 'local/demo', undefined)).toBeUndefined()
  })
})

describe('runtimeEnv', () => {
  it('points Claude Code at the gateway with the session’s token as its bearer token, and turns its calls home off', () => {
    const env = runtimeEnv('claude-code', { provider: 'claude', model: 'claude-haiku-4-5' }, { url: 'https://w.example/v1/gateway', token: 'gw-token' })
    expect(env).toMatchObject({
      ANTHROPIC_BASE_URL: 'https://w.example/v1/gateway/claude',
      ANTHROPIC_AUTH_TOKEN: 'gw-token',
      ANTHROPIC_MODEL: 'claude-haiku-4-5',
      CLAUDE_CODE_DISABLE_FAST_MODE: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
    })
    // An API key would make Claude Code call api.anthropic.com with it (its organisation metrics), base URL or not.
    expect(env).not.toHaveProperty('ANTHROPIC_API_KEY')
    expect(Object.values(env)).not.toContain('sk-real')
  })
})

describe('runtimeFiles', () => {
  it('gives Codex a configuration naming the gateway as its one provider, over the Responses API, with no key in it', () => {
    const target = { provider: 'openai', model: 'gpt-4.1-mini' }
    const [file, ...rest] = runtimeFiles('codex', target, { url: 'https://w.example/v1/gateway' })
    expect(rest).toEqual([])
    expect(file!.path).toBe('.codex/config.toml')
    expect(file!.content).toContain('base_url = "https://w.example/v1/gateway/openai"')
    expect(file!.content).toContain('wire_api = "responses"')
    expect(file!.content).toContain('env_key = "OPENAI_API_KEY"')
    expect(runtimeEnv('codex', target, { url: 'https://w.example/v1/gateway', token: 'gw-token' })).toEqual({ OPENAI_API_KEY: 'gw-token', CODEX_API_KEY: 'gw-token' })
    expect(runtimeFiles('claude-code', target, { url: 'https://w.example/v1/gateway' })).toEqual([])
  })

  it('gives Codex the session’s instructions as its global AGENTS.md, and runs its commands without an inner sandbox but asking first', () => {
    const files = runtimeFiles('codex', { provider: 'openai', model: 'm' }, { url: 'https://w.example/v1/gateway' }, 'Answer tersely.')
    expect(files.find((f) => f.path === '.codex/AGENTS.md')?.content).toBe('Answer tersely.\n')
    const config = files.find((f) => f.path === '.codex/config.toml')!.content
    expect(config).toContain('sandbox_mode = "danger-full-access"')
    expect(config).toContain('approval_policy = "untrusted"')
    expect(runtimeFiles('claude-code', { provider: 'anthropic', model: 'm' }, { url: 'https://w.example/v1/gateway' }, 'Answer tersely.')).toEqual([])
  })
})
