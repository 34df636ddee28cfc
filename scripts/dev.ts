import { join } from 'node:path'
import { DEMO_LABEL } from '../local/model-server'
import { PROJECT_ROOT, settingsFromEnvironment, startStack } from '../local/stack'

/** `npm run dev`: the whole stack on this machine, settings from the environment over .dev.vars. */
const port = Number(process.env.PORT ?? 8787)
const stack = await startStack({
  settings: settingsFromEnvironment(process.env),
  port,
  sandboxHostPort: Number(process.env.SANDBOX_HOST_PORT ?? 8790),
  stateDir: join(PROJECT_ROOT, '.wrangler', 'state'),
  sandboxRoot: join(PROJECT_ROOT, '.sandboxes'),
  // E2B_STANDIN=1: the production provider, offline, against the local E2B stand-in.
  ...(process.env.E2B_STANDIN === '1' && { e2bStandIn: { apiKey: 'e2b_local_standin_key' } }),
})

console.log(`
  opencode-sandbox-worker is up at ${stack.url}`)
console.log(
  stack.e2b
    ? `  sandboxes run through the E2B provider, against the local E2B stand-in (${stack.e2b.apiUrl})`
    : `  sandboxes run as local processes (host ${stack.sandboxHostUrl})`,
)
if (stack.model) {
  console.log(`  model: ${DEMO_LABEL} no provider key is set, so agents talk to a local scripted
         stand-in, not an LLM. Set e.g. ANTHROPIC_API_KEY and DEFAULT_MODEL to use a real one.`)
}
console.log(`  try: curl -s ${stack.url}/health\n`)

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await stack.close()
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
