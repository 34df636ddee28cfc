import { describe, expect, it } from 'vitest'
import { readSettings } from '../config/settings'
import { canUseWarmSandbox, sandboxPlan, settingsFingerprint } from './plan'

const settings = readSettings({ OPENAI_API_KEY: 'sk-x', DEFAULT_MODEL: 'a/b' } as never)
const gateway = { url: 'https://worker.example/v1/gateway', token: 'ses_0123456789abcdefghjk.gw' }

describe('sandboxPlan', () => {
  it('puts secrets only in the environment, and lets no session override the password', () => {
    const plan = sandboxPlan(settings, { env: { OPENCODE_SERVER_PASSWORD: 'mine', A: '1' } }, { TOKEN: 't' }, 'pw', { sessionId: 's' }, gateway)
    expect(plan.envs).toMatchObject({ A: '1', TOKEN: 't', OPENCODE_SERVER_PASSWORD: 'pw' })
    expect(JSON.parse(plan.envs.OPENCODE_CONFIG_CONTENT!)).toMatchObject({ model: 'a/b' })
  })

  it("tells opencode to skip the network work a sandbox has no use for, unless the session's environment says otherwise", () => {
    const plan = sandboxPlan(settings, {}, undefined, 'pw', {}, gateway)
    expect(plan.envs).toMatchObject({
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_SHARE: '1',
      OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
    })
    const withLsp = sandboxPlan(settings, { env: { OPENCODE_DISABLE_LSP_DOWNLOAD: '0' } }, undefined, 'pw', {}, gateway)
    expect(withLsp.envs.OPENCODE_DISABLE_LSP_DOWNLOAD).toBe('0')
  })

  it('hands the sandbox no provider key: every provider points at the gateway with the session token', () => {
    const withConfig = readSettings({
      ANTHROPIC_API_KEY: 'sk-ant-real',
      OPENCODE_CONFIG: JSON.stringify({ provider: { local: { npm: '@ai-sdk/openai-compatible', options: { baseURL: 'http://m/v1', apiKey: 'sk-local-real', headers: { 'X-Auth': 'h-real' } } } } }),
    } as never)
    const plan = sandboxPlan(withConfig, {}, undefined, 'pw', {}, gateway, ['openai'])
    const everything = JSON.stringify(plan)
    for (const secret of ['sk-ant-real', 'sk-local-real', 'h-real', 'http://m/v1']) expect(everything).not.toContain(secret)
    const providers = JSON.parse(plan.envs.OPENCODE_CONFIG_CONTENT!).provider
    expect(Object.keys(providers).sort()).toEqual(['anthropic', 'local', 'openai'])
    expect(providers.local).toEqual({ npm: '@ai-sdk/openai-compatible', options: { baseURL: `${gateway.url}/local`, apiKey: gateway.token } })
    expect(providers.anthropic.options).toEqual({ baseURL: `${gateway.url}/anthropic`, apiKey: gateway.token })
  })
})

describe('canUseWarmSandbox', () => {
  it.each([
    [{}, undefined, true],
    [{ instructions: 'be brief', agent: 'plan' }, undefined, true],
    [{ model: 'a/b' }, undefined, true],
    [{ model: 'c/d' }, undefined, false],
    [{ repo: { url: '/r' } }, undefined, false],
    [{ files: [{ path: 'a', content: 'b' }] }, undefined, false],
    [{ permissions: { bash: 'allow' } }, undefined, false],
    [{ env: {} }, {}, true],
    [{}, { S: 'x' }, false],
  ])('%j with secrets %j -> %s', (spec, secrets, expected) => {
    expect(canUseWarmSandbox(spec as never, secrets, 'a/b')).toBe(expected)
  })

  it('tells settings apart by what shapes a sandbox', () => {
    expect(settingsFingerprint(settings)).toBe(settingsFingerprint(readSettings({ OPENAI_API_KEY: 'other', DEFAULT_MODEL: 'a/b' } as never)))
    expect(settingsFingerprint(settings)).not.toBe(settingsFingerprint(readSettings({ DEFAULT_MODEL: 'a/b' } as never)))
  })
})
