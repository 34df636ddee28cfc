import { describe, expect, it } from 'vitest'
import { sandboxConfigPart } from './sandbox-config'

const CANARY = 'canary-credential'

const deployment = {
  $schema: 'https://opencode.ai/config.json',
  model: 'local/demo',
  instructions: ['AGENTS.md'],
  permission: { bash: 'ask' },
  agent: { reviewer: { description: 'reviews', prompt: 'Review.', options: { reasoningEffort: 'high', apiKey: CANARY } } },
  provider: {
    local: {
      npm: '@ai-sdk/openai-compatible',
      name: 'Local',
      api: 'https://real.example/v1',
      env: ['LOCAL_KEY'],
      options: { baseURL: 'https://real.example/v1', apiKey: CANARY, headers: { 'X-Key': CANARY }, timeout: 60_000, includeUsage: true },
      models: {
        demo: {
          name: 'Demo',
          cost: { input: 1, output: 2 },
          limit: { context: 1000, output: 100 },
          headers: { Authorization: CANARY },
          provider: { npm: '@ai-sdk/openai', api: 'https://elsewhere.example' },
          options: { thinking: { type: 'enabled', budgetTokens: 1000 }, headers: { 'X-Key': CANARY } },
        },
      },
    },
    bedrock: { options: { region: 'us-east-1', accessKeyId: CANARY, secretAccessKey: CANARY, sessionToken: CANARY, profile: CANARY } },
    vertex: { options: { project: 'p', location: 'l', googleAuthOptions: { credentials: { private_key: CANARY } } } },
  },
  mcp: {
    docs: { type: 'remote', url: 'https://docs.example/mcp', enabled: true },
    fs: { type: 'local', command: ['npx', 'mcp-fs'], timeout: 5000 },
    withHeaders: { type: 'remote', url: 'https://api.example/mcp', headers: { Authorization: `Bearer ${CANARY}` } },
    withEnvironment: { type: 'local', command: ['mcp-db'], environment: { DB_PASSWORD: CANARY } },
    withQuery: { type: 'remote', url: `https://api.example/mcp?key=${CANARY}` },
    withUser: { type: 'remote', url: `https://user:${CANARY}@api.example/mcp` },
    withArgument: { type: 'local', command: ['mcp-x', `--api-key=${CANARY}`] },
    withOauth: { type: 'remote', url: 'https://api.example/mcp', oauth: { clientId: 'id', clientSecret: CANARY } },
  },
  formatter: { prettier: { command: ['prettier'], extensions: ['.ts'], environment: { NPM_TOKEN: CANARY } } },
  lsp: { ts: { command: ['tsls'], env: { X: CANARY }, environment: { TOKEN: CANARY } } },
  experimental: { hook: { session_completed: [{ command: ['x'], environment: { T: CANARY } }] } },
  plugin: [['plugin-x', { token: CANARY }]],
  enterprise: { url: 'https://corp.example' },
}

describe('sandboxConfigPart', () => {
  const { config, refused } = sandboxConfigPart(deployment)

  it('leaves every credential of OPENCODE_CONFIG in the Worker', () => {
    expect(JSON.stringify(config)).not.toContain(CANARY)
  })

  it('keeps what opencode needs to run the deployment’s models and agents', () => {
    expect(config).toMatchObject({
      $schema: 'https://opencode.ai/config.json',
      model: 'local/demo',
      instructions: ['AGENTS.md'],
      permission: { bash: 'ask' },
      agent: { reviewer: { description: 'reviews', prompt: 'Review.', options: { reasoningEffort: 'high' } } },
      formatter: { prettier: { command: ['prettier'], extensions: ['.ts'] } },
      lsp: { ts: { command: ['tsls'] } },
    })
    expect(config.provider).toEqual({
      local: {
        npm: '@ai-sdk/openai-compatible',
        name: 'Local',
        options: { timeout: 60_000, includeUsage: true },
        models: {
          demo: {
            name: 'Demo',
            cost: { input: 1, output: 2 },
            limit: { context: 1000, output: 100 },
            provider: { npm: '@ai-sdk/openai' },
            options: { thinking: { type: 'enabled', budgetTokens: 1000 } },
          },
        },
      },
      bedrock: {},
      vertex: {},
    })
    for (const left of ['experimental', 'plugin', 'enterprise']) expect(config).not.toHaveProperty(left)
  })

  it('copies MCP servers that need no credentials, and refuses the others by name', () => {
    expect(config.mcp).toEqual({
      docs: { type: 'remote', url: 'https://docs.example/mcp', enabled: true },
      fs: { type: 'local', command: ['npx', 'mcp-fs'], timeout: 5000 },
    })
    expect(refused).toHaveLength(6)
    for (const name of ['withHeaders', 'withEnvironment', 'withQuery', 'withUser', 'withArgument', 'withOauth']) {
      expect(refused.some((reason) => reason.includes(`"${name}"`))).toBe(true)
    }
    expect(refused.join(' ')).not.toContain(CANARY)
  })

  it('refuses nothing of a configuration without credentials', () => {
    expect(sandboxConfigPart({ model: 'a/b', mcp: { docs: { type: 'remote', url: 'https://docs.example/mcp' } } }).refused).toEqual([])
  })
})
