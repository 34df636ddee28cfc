import { describe, expect, it } from 'vitest'
import { decide, splitText, startModelServer } from './model-server'
import { dotenvLine, needsDemoModel, settingsFromEnvironment } from './stack'

describe('the scripted model', () => {
  const user = (content: string) => ({ role: 'user', content })

  it('labels its demo answers', () => {
    expect(decide({ messages: [user('hi')] }).text).toMatch(/^\[offline demo model\].*You said: hi$/)
  })

  it('follows a script step by step across tool calls', () => {
    const script = '<<script {"steps":[{"tool":{"name":"bash","args":{"command":"ls"}}},{"text":"done"}]}>>'
    expect(decide({ messages: [user(script)] }).tools).toEqual([{ name: 'bash', args: { command: 'ls' } }])
    expect(decide({ messages: [user(script), { role: 'assistant' }, { role: 'tool' }] }).text).toBe('done')
  })

  it('streams send times for benchmarks', async () => {
    const model = await startModelServer()
    try {
      const res = await fetch(`${model.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: '<<script {"stamp":3}>>' }] }),
      })
      const pieces = [...(await res.text()).matchAll(/"content":"(\d+\.\d+) "/g)].map((m) => Number(m[1]))
      expect(pieces).toHaveLength(3)
      expect(pieces[2]!).toBeGreaterThanOrEqual(pieces[0]!)
    } finally {
      await model.close()
    }
  })

  it('splits text into pieces that join back to it', () => {
    expect(splitText('a bb  ccc').join('')).toBe('a bb  ccc')
    expect(splitText('abcdefghij', 3)).toEqual(['abcd', 'efgh', 'ij'])
  })
})

describe('dev stack settings', () => {
  it('takes Worker settings and provider keys from the environment, nothing else', () => {
    expect(settingsFromEnvironment({ API_KEYS: 'k', OPENAI_API_KEY: 's', HOME: '/root', PATH: '/bin' })).toEqual({
      API_KEYS: 'k',
      OPENAI_API_KEY: 's',
    })
  })

  it('runs the demo model only when no provider is configured', () => {
    expect(needsDemoModel({ API_KEYS: 'k' })).toBe(true)
    expect(needsDemoModel({ E2B_API_KEY: 'e' })).toBe(true)
    expect(needsDemoModel({ ANTHROPIC_API_KEY: 'a' })).toBe(false)
    expect(needsDemoModel({ OPENCODE_CONFIG: '{}' })).toBe(false)
  })

  it('quotes dotenv values with a quote they do not contain', () => {
    expect(dotenvLine('A', `{"x":"y"}`)).toBe(`A='{"x":"y"}'`)
    expect(dotenvLine('A', `it's "so"`)).toBe('A=`it\'s "so"`')
    expect(() => dotenvLine('A', 'a\nb')).toThrow()
  })
})

describe('the scripted model, stamped', () => {
  it('starts each piece of a reply with its send time when stamp is true', async () => {
    const model = await startModelServer()
    try {
      const script = '<<script {"reply":"abcdef","chunks":3,"stamp":true}>>'
      const res = await fetch(`${model.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: script }] }),
      })
      const pieces = [...(await res.text()).matchAll(/"content":"(\d+\.\d{3}) ([a-z]*)"/g)]
      expect(pieces.map((m) => m[2])).toEqual(['ab', 'cd', 'ef'])
      expect(pieces.every((m) => Number.isFinite(Number(m[1])))).toBe(true)
    } finally {
      await model.close()
    }
  })
})
