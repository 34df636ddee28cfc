import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Template } from 'e2b'

/** e2b.toml as this project writes it: flat `key = value` lines, strings quoted. */
export type TemplateConfig = { template_name: string; dockerfile: string; cpu_count: number; memory_mb: number }

export function parseTemplateToml(text: string): TemplateConfig {
  const values: Record<string, string | number> = {}
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim()
    if (!line) continue
    const m = /^([a-z_]+)\s*=\s*(?:"([^"]*)"|(\d+))$/.exec(line)
    if (!m) throw new Error(`e2b.toml: cannot read "${raw.trim()}"`)
    values[m[1]!] = m[2] ?? Number(m[3])
  }
  const { template_name, dockerfile, cpu_count, memory_mb } = values
  if (typeof template_name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(template_name)) throw new Error('e2b.toml: template_name must be a lowercase name')
  if (typeof dockerfile !== 'string') throw new Error('e2b.toml: dockerfile must name the Dockerfile')
  if (typeof cpu_count !== 'number' || cpu_count < 1 || cpu_count > 8) throw new Error('e2b.toml: cpu_count must be 1-8')
  if (typeof memory_mb !== 'number' || memory_mb < 512 || memory_mb % 512 !== 0) throw new Error('e2b.toml: memory_mb must be a multiple of 512')
  return { template_name, dockerfile, cpu_count, memory_mb }
}

/**
 * Reads e2b.toml and its Dockerfile and checks them: the opencode the template installs must be
 * the version the project develops and tests against, and its plugin package the same version
 * (else opencode installs its own at every start); so must Claude Code's and Codex's ACP agents.
 */
export function loadTemplate(root: string) {
  const config = parseTemplateToml(readFileSync(join(root, 'e2b.toml'), 'utf8'))
  const dockerfile = readFileSync(join(root, config.dockerfile), 'utf8')
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
  const wanted = pkg.devDependencies['opencode-ai']
  const pinned = /opencode-ai@([\w.-]+)/.exec(dockerfile)?.[1]
  if (pinned !== wanted) throw new Error(`${config.dockerfile} installs opencode-ai@${pinned ?? '?'}, the project uses ${wanted}`)
  // The project lists it too, so that local sandboxes install it from npm's cache (local/opencode-config-folder.ts).
  if (pkg.devDependencies['@opencode-ai/plugin'] !== wanted) throw new Error(`package.json: @opencode-ai/plugin must be ${wanted}, as opencode-ai`)
  const plugin = /@opencode-ai\/plugin@([\w.-]+)/.exec(dockerfile)?.[1]
  if (plugin !== wanted) throw new Error(`${config.dockerfile} installs @opencode-ai/plugin@${plugin ?? '?'}, opencode ${wanted} wants its own version`)
  // The other runtimes' agents: the versions the local sandboxes run and the tests prove.
  for (const agent of ['@zed-industries/claude-code-acp', '@zed-industries/codex-acp']) {
    const at = new RegExp(`${agent.replace('/', '\\/')}@([\\w.-]+)`).exec(dockerfile)?.[1]
    if (at !== pkg.devDependencies[agent]) throw new Error(`${config.dockerfile} installs ${agent}@${at ?? '?'}, the project uses ${pkg.devDependencies[agent]}`)
  }
  return { config, template: Template().fromDockerfile(dockerfile) }
}
