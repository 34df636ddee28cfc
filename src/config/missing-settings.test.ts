import { describe, expect, it } from 'vitest'
import type { Bindings } from '../env'
import { MODEL_SETTINGS, missingSettings } from './missing-settings'

const complete = { API_KEYS: 'k1', SANDBOX_PROVIDER: 'e2b', E2B_API_KEY: 'e2b_x', ANTHROPIC_API_KEY: 'sk-x' }

describe('missingSettings', () => {
  it.each<[string, Record<string, string>, string[]]>([
    ['a complete E2B deployment', complete, []],
    ['a complete local one', { API_KEYS: 'k1', SANDBOX_PROVIDER: 'local', LOCAL_SANDBOX_URL: 'http://h', DEFAULT_MODEL: 'opencode/x' }, []],
    ['the model from OPENCODE_CONFIG', { ...complete, ANTHROPIC_API_KEY: '', OPENCODE_CONFIG: '{}' }, []],
    ['nothing set', {}, ['API_KEYS', 'SANDBOX_PROVIDER', MODEL_SETTINGS]],
    ['API_KEYS of commas only', { ...complete, API_KEYS: ' , ' }, ['API_KEYS']],
    ['e2b without its key', { ...complete, E2B_API_KEY: '' }, ['E2B_API_KEY']],
    ['local without its URL', { ...complete, SANDBOX_PROVIDER: 'local' }, ['LOCAL_SANDBOX_URL']],
    ['a provider of another name', { ...complete, SANDBOX_PROVIDER: 'docker' }, ['SANDBOX_PROVIDER']],
    ['only the E2B key, which is no model key', { ...complete, ANTHROPIC_API_KEY: '' }, [MODEL_SETTINGS]],
    ['everything but the model and E2B key', { API_KEYS: 'k1', SANDBOX_PROVIDER: 'e2b' }, ['E2B_API_KEY', MODEL_SETTINGS]],
  ])('%s', (_, env, missing) => {
    expect(missingSettings(env as unknown as Bindings)).toEqual(missing)
  })
})
