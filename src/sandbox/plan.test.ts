import { describe, expect, it } from 'vitest'
import { readSettings } from '../settings'
import { canUseWarmSandbox, sandboxPlan, settingsFingerprint } from './plan'

const settings = readSettings({ OPENAI_API_KEY: 'sk-x', DEFAULT_MODEL: 'a/b' } as never)

describe('sandboxPlan', () => {
  it('puts secrets and keys only in the environment, and lets no session override the password', () => {
    const plan = sandboxPlan(settings, { env: { OPENCODE_SERVER_PASSWORD: 'mine', A: '1' } }, { TOKEN: 't' }, 'pw', { sessionId: 's' })
    expect(plan.envs).toMatchObject({ A: '1', TOKEN: 't', OPENAI_API_KEY: 'sk-x', OPENCODE_SERVER_PASSWORD: 'pw' })
    expect(JSON.parse(plan.envs.OPENCODE_CONFIG_CONTENT!)).toMatchObject({ model: 'a/b' })
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
