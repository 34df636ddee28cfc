import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../local/stack'
import { E2B_TEMPLATE } from '../src/config/settings'
import { loadTemplate, parseTemplateToml } from './template'

describe('the E2B template', () => {
  it('is read from e2b.toml, whose name the Worker uses by default', () => {
    const { config } = loadTemplate(PROJECT_ROOT)
    expect(config.template_name).toBe(E2B_TEMPLATE)
    expect(config.cpu_count).toBeGreaterThan(0)
  })

  it('refuses malformed settings', () => {
    expect(() => parseTemplateToml('template_name = "Bad Name"\ndockerfile = "x"\ncpu_count = 2\nmemory_mb = 2048')).toThrow('template_name')
    expect(() => parseTemplateToml('template_name = "ok"\ndockerfile = "x"\ncpu_count = 2\nmemory_mb = 1000')).toThrow('memory_mb')
    expect(() => parseTemplateToml('what is this')).toThrow('cannot read')
  })
})
