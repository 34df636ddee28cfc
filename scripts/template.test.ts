import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROJECT_ROOT } from '../local/stack'
import { BRIDGE_PATH } from '../src/sandbox/provider'
import { E2B_TEMPLATE } from '../src/config/settings'
import { loadTemplate, parseTemplateToml } from './template'

describe('the E2B template', () => {
  it('is read from e2b.toml, whose name the Worker uses by default', () => {
    const { config } = loadTemplate(PROJECT_ROOT)
    expect(config.template_name).toBe(E2B_TEMPLATE)
    expect(config.cpu_count).toBeGreaterThan(0)
  })

  it('installs the ACP agents at the versions the project runs locally, and the bridge', () => {
    const dockerfile = readFileSync(join(PROJECT_ROOT, 'e2b.Dockerfile'), 'utf8')
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
    expect(dockerfile).toContain(`@zed-industries/claude-code-acp@${pkg.devDependencies['@zed-industries/claude-code-acp']}`)
    expect(dockerfile).toContain(`@zed-industries/codex-acp@${pkg.devDependencies['@zed-industries/codex-acp']}`)
    expect(dockerfile).toContain(`COPY agents/acp-bridge.mjs ${BRIDGE_PATH}`)
  })

  it('refuses malformed settings', () => {
    expect(() => parseTemplateToml('template_name = "Bad Name"\ndockerfile = "x"\ncpu_count = 2\nmemory_mb = 2048')).toThrow('template_name')
    expect(() => parseTemplateToml('template_name = "ok"\ndockerfile = "x"\ncpu_count = 2\nmemory_mb = 1000')).toThrow('memory_mb')
    expect(() => parseTemplateToml('what is this')).toThrow('cannot read')
  })
})
