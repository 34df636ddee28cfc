import { describe, expect, it } from 'vitest'
import { agentCatalogue, inCatalogue, modelCatalogue } from './catalogue'

const config = {
  provider: {
    local: {
      models: {
        vision: { name: 'Vision', modalities: { input: ['text', 'image'], output: ['text'] } },
        thinker: { reasoning: true, attachment: true },
        plain: {},
      },
    },
    unreachable: { models: { x: {} } },
  },
  model: 'local/plain',
}

describe('the model catalogue', () => {
  const catalogue = modelCatalogue(config, [{ id: 'local', known: false }, { id: 'anthropic', known: true }], undefined)

  it("lists the reachable providers' configured models with what their entries say they can do", () => {
    expect(catalogue.default).toBe('local/plain')
    expect(catalogue.models).toEqual([
      { id: 'local/vision', name: 'Vision', provider: 'local', attachments: true, reasoning: false },
      { id: 'local/thinker', name: 'thinker', provider: 'local', attachments: true, reasoning: true },
      { id: 'local/plain', name: 'plain', provider: 'local', attachments: false, reasoning: false },
    ])
    expect(catalogue.providers).toEqual([
      { id: 'local', anyModel: false },
      { id: 'anthropic', anyModel: true },
    ])
  })

  it('accepts listed models and any model of a provider opencode knows, nothing else', () => {
    expect(inCatalogue(catalogue, 'local/vision')).toBe(true)
    expect(inCatalogue(catalogue, 'anthropic/claude-sonnet-4-5')).toBe(true)
    expect(inCatalogue(catalogue, 'local/other')).toBe(false)
    expect(inCatalogue(catalogue, 'unreachable/x')).toBe(false)
  })

  it('lists DEFAULT_MODEL, which wins over the configuration, even when no entry describes it', () => {
    const withDefault = modelCatalogue({}, [{ id: 'anthropic', known: true }], 'anthropic/claude-sonnet-4-5')
    expect(withDefault.default).toBe('anthropic/claude-sonnet-4-5')
    expect(withDefault.models).toEqual([
      { id: 'anthropic/claude-sonnet-4-5', name: 'claude-sonnet-4-5', provider: 'anthropic', attachments: false, reasoning: false },
    ])
    expect(modelCatalogue({}, [], undefined)).toEqual({ default: null, models: [], providers: [] })
  })
})

describe('the agent catalogue', () => {
  it("is opencode's own agents without configuration", () => {
    const { default: preferred, agents } = agentCatalogue({})
    expect(preferred).toBe('build')
    expect(agents.map((a) => [a.name, a.mode, a.native])).toEqual([
      ['build', 'primary', true],
      ['plan', 'primary', true],
      ['general', 'subagent', true],
      ['explore', 'subagent', true],
    ])
  })

  it('adds configured agents, overrides native ones, and leaves out disabled and hidden ones', () => {
    const { default: preferred, agents } = agentCatalogue({
      default_agent: 'reviewer',
      agent: {
        reviewer: { description: 'Reviews code', model: 'local/plain', mode: 'primary' },
        helper: {},
        plan: { disable: true },
        explore: { hidden: true },
        build: { description: 'Builds things' },
      },
    })
    expect(preferred).toBe('reviewer')
    expect(agents).toEqual([
      { name: 'build', description: 'Builds things', mode: 'primary', native: true },
      { name: 'general', description: expect.any(String), mode: 'subagent', native: true },
      { name: 'reviewer', description: 'Reviews code', mode: 'primary', native: false, model: 'local/plain' },
      { name: 'helper', mode: 'all', native: false },
    ])
  })

  it('falls back to build when the configured default is not an agent', () => {
    expect(agentCatalogue({ default_agent: 'nobody' }).default).toBe('build')
  })
})
