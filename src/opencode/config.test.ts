import { describe, expect, it } from 'vitest'
import { buildOpencodeConfig as build, ConfigError, deepMerge, parseDeploymentConfig } from './config'

const gatewayProviders = { a: { options: { baseURL: 'https://worker/v1/gateway/a', apiKey: 'gw-token' } } }
const buildOpencodeConfig = (json: string | undefined, model: string | undefined, session: Parameters<typeof build>[2]) =>
  build(parseDeploymentConfig(json), model, session, gatewayProviders)

describe('buildOpencodeConfig', () => {
  it('lays the default model and the session over the deployment config, with the gateway in place of its providers', () => {
    const deployment = JSON.stringify({ provider: { a: { options: { apiKey: 'real-key' } } }, model: 'a/one', permission: { edit: 'allow', bash: 'allow' } })
    expect(buildOpencodeConfig(deployment, 'a/two', { permissions: { bash: 'ask' } })).toEqual({
      provider: gatewayProviders,
      model: 'a/two',
      // The files sent with messages may be read without asking, out of the workspace as they are.
      permission: { edit: 'allow', bash: 'ask', external_directory: { '~/attachments/*': 'allow' } },
      autoupdate: false,
      share: 'disabled',
    })
    expect(buildOpencodeConfig(deployment, 'a/two', { model: 'b/three' }).model).toBe('b/three')
    expect(buildOpencodeConfig(deployment, undefined, {}).model).toBe('a/one')
  })

  it('says clearly when OPENCODE_CONFIG is not a JSON object', () => {
    expect(() => buildOpencodeConfig('{nope', undefined, {})).toThrow(ConfigError)
    expect(() => buildOpencodeConfig('[1]', undefined, {})).toThrow('must be a JSON object')
  })

  it('merges objects key by key and replaces everything else', () => {
    expect(deepMerge({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2] }, d: undefined })).toEqual({ a: { b: 1, c: [2] }, d: 1 })
  })
})

describe('unattended runs', () => {
  it('allow edits and commands, deny what would ask, and turn every ask into a denial', () => {
    const deployment = JSON.stringify({ permission: { webfetch: 'ask', bash: { 'git push *': 'ask' } } })
    const config = buildOpencodeConfig(deployment, undefined, { unattended: true, permissions: { edit: 'ask' } })
    expect(config.permission).toEqual({
      edit: 'deny',
      bash: { 'git push *': 'deny' },
      webfetch: 'deny',
      external_directory: 'deny',
      doom_loop: 'deny',
      question: 'deny',
    })
    expect(buildOpencodeConfig(undefined, undefined, { unattended: true }).permission).toMatchObject({ edit: 'allow', bash: 'allow' })
  })

  it('keep the asks of a run whose asks a person answers where it started, and still no questions', () => {
    const deployment = JSON.stringify({ permission: { bash: { '*': 'allow', 'git push *': 'ask' } } })
    const config = buildOpencodeConfig(deployment, undefined, { unattended: true, approvals: true })
    expect(config.permission).toMatchObject({ bash: { '*': 'allow', 'git push *': 'ask' }, question: 'deny', external_directory: 'deny' })
  })
})
