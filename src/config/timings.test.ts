import { describe, expect, it } from 'vitest'
import { readSettings } from './settings'
import { DEFAULT_TIMINGS, parseTimings } from './timings'

describe('TIMINGS', () => {
  it('keeps the defaults when unset', () => {
    expect(parseTimings(undefined)).toEqual({ timings: DEFAULT_TIMINGS })
    expect(parseTimings('  ')).toEqual({ timings: DEFAULT_TIMINGS })
  })

  it('takes any of the fields, keeping the defaults of the others', () => {
    const { timings, error } = parseTimings('{"wakeMs":2000,"silenceMs":3000}')
    expect(error).toBeUndefined()
    expect(timings).toEqual({ ...DEFAULT_TIMINGS, wakeMs: 2_000, silenceMs: 3_000 })
  })

  it.each([
    ['not JSON', '{wakeMs: 2000', 'TIMINGS is not valid JSON'],
    ['not an object', '[2000]', /^TIMINGS is not valid: \(the object\): /],
    ['zero', '{"wakeMs":0}', /^TIMINGS is not valid: wakeMs: /],
    ['negative', '{"pingMs":-5}', /^TIMINGS is not valid: pingMs: /],
    ['a fraction', '{"silenceMs":1.5}', /^TIMINGS is not valid: silenceMs: /],
    ['a string', '{"agentCallMs":"3000"}', /^TIMINGS is not valid: agentCallMs: /],
    ['over a day', '{"sandboxCallMs":86400001}', /^TIMINGS is not valid: sandboxCallMs: /],
    ['an unknown field', '{"wakeMs":2000,"secretlyLong":1}', 'TIMINGS is not valid: (the object): unknown fields'],
  ])('falls back to the defaults, saying why, for %s', (_name, text, why) => {
    const { timings, error } = parseTimings(text)
    expect(timings).toEqual(DEFAULT_TIMINGS)
    expect(error).toMatch(why)
  })

  it('never quotes the value in its reason', () => {
    for (const text of ['{"wakeMs":"s3cr3t-value"}', '{"s3cr3t-value":1}', '{"wakeMs":987654321}', 's3cr3t-value']) {
      const { error } = parseTimings(text)
      expect(error).toBeDefined()
      expect(error).not.toMatch(/s3cr3t|987654321/)
    }
  })

  it('reaches the settings', () => {
    expect(readSettings({ TIMINGS: '{"pingMs":1000}' } as never).timings).toEqual({ ...DEFAULT_TIMINGS, pingMs: 1_000 })
    expect(readSettings({ TIMINGS: 'nope' } as never).timings).toEqual(DEFAULT_TIMINGS)
    expect(readSettings({} as never).timings).toEqual(DEFAULT_TIMINGS)
  })
})
