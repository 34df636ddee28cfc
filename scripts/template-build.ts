import { Template } from 'e2b'
import { PROJECT_ROOT } from '../local/stack'
import { loadTemplate } from './template'

/**
 * `npm run template:build`: builds the E2B template from e2b.toml and e2b.Dockerfile with E2B's
 * Template SDK (E2B_API_KEY from the environment). `-- --dry-run` only checks both files and
 * prints what would be built, without reaching E2B.
 */
const { config, template } = loadTemplate(PROJECT_ROOT)
console.log(`template ${config.template_name}: ${config.cpu_count} CPU, ${config.memory_mb} MB, from ${config.dockerfile}`)
if (process.argv.includes('--dry-run')) {
  console.log(JSON.stringify(JSON.parse(await Template.toJSON(template, false)), null, 2))
  console.log('dry run: e2b.toml and the Dockerfile are valid; nothing was built')
} else {
  if (!process.env.E2B_API_KEY) throw new Error('set E2B_API_KEY to build the template')
  const info = await Template.build(template, config.template_name, {
    cpuCount: config.cpu_count,
    memoryMB: config.memory_mb,
    onBuildLogs: (entry) => console.log(String(entry)),
  })
  console.log(`built ${config.template_name}: ${JSON.stringify(info)}`)
}
