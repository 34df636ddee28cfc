import { describe, expect, it } from 'vitest'
import { fileProblems, MAX_VARIABLE_BYTES, oversizeVariables, settingFrom } from './bundled-settings'

describe('settings from deployment-settings.json', () => {
  it('takes the variable when set, else the file entry as JSON text (a string as it is)', () => {
    const file = { OPENCODE_CONFIG: { model: 'a/b' }, WARM_POOLS: '[]' }
    expect(settingFrom('OPENCODE_CONFIG', {}, file)).toBe('{"model":"a/b"}')
    expect(settingFrom('WARM_POOLS', {}, file)).toBe('[]')
    expect(settingFrom('OPENCODE_CONFIG', { OPENCODE_CONFIG: '{"model":"c/d"}' }, file)).toBe('{"model":"c/d"}')
    expect(settingFrom('OPENCODE_CONFIG', { OPENCODE_CONFIG: '' }, file)).toBe('{"model":"a/b"}')
    expect(settingFrom('WARM_POOLS', {}, {})).toBeUndefined()
    expect(settingFrom('WARM_POOLS', {}, { WARM_POOLS: null })).toBeUndefined()
  })

  it('names entries the file may not hold, and a setting both places set, never a value', () => {
    expect(fileProblems({}, {})).toEqual([])
    expect(fileProblems({}, [])).toEqual(['deployment-settings.json is not a JSON object'])
    expect(fileProblems({ OPENCODE_CONFIG: '{}' }, { OPENCODE_CONFIG: {}, ANTHROPIC_API_KEY: 'sk-secret' })).toEqual([
      'deployment-settings.json names ANTHROPIC_API_KEY, which it cannot set (only OPENCODE_CONFIG, WARM_POOLS); set it as a variable or secret',
      'OPENCODE_CONFIG is set both as a variable and in deployment-settings.json; the variable is used',
    ])
  })

  it('names the variables over 5 KB in UTF-8, whatever they are, with their size and not their value', () => {
    const at = 'x'.repeat(MAX_VARIABLE_BYTES)
    // 1,707 characters of three bytes each: under 5,120 characters, over 5,120 bytes.
    const wide = '漢'.repeat(1707)
    const problems = oversizeVariables({ SMALL: 'x', AT_LIMIT: at, OPENCODE_CONFIG: `${at}y`, GITHUB_APP_PRIVATE_KEY: wide, SESSIONS: {} })
    expect(problems).toEqual([
      "OPENCODE_CONFIG is 5121 bytes, over the 5 KB (5120 bytes) a deployed Worker's variable or secret may hold; put it in deployment-settings.json instead",
      "GITHUB_APP_PRIVATE_KEY is 5121 bytes, over the 5 KB (5120 bytes) a deployed Worker's variable or secret may hold",
    ])
    expect(problems.join()).not.toContain('漢')
  })
})
