import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { whenOrphaned, whenStdinCloses } from '../local/lifeline'
import { DEMO_LABEL, DIALECTS, inDialect, type Dialect } from '../local/model-server'
import { freePort, portIsFree } from '../local/ports'
import { PROJECT_ROOT, settingsFromEnvironment, startStack } from '../local/stack'
import { LOCAL_SLACK, startSlackStandIn, type SlackStandIn } from '../local/slack-standin'

/** `npm run dev`: the whole stack on this machine, settings from the environment over .dev.vars. */

const port = Number(process.env.PORT ?? 8787)
const sandboxHostPort = Number(process.env.SANDBOX_HOST_PORT ?? 8790)
/** STATE_DIR: where sessions (wrangler's state) and sandboxes' folders go; default: in the project. */
const stateDir = process.env.STATE_DIR ? join(process.env.STATE_DIR, 'wrangler') : join(PROJECT_ROOT, '.wrangler', 'state')
const sandboxRoot = process.env.STATE_DIR ? join(process.env.STATE_DIR, 'sandboxes') : join(PROJECT_ROOT, '.sandboxes')

for (const [name, value] of [['PORT', port], ['SANDBOX_HOST_PORT', sandboxHostPort]] as const) {
  if (!(await portIsFree(value))) {
    console.error(`Port ${value} is already in use (another npm run dev?): set ${name} to a free port, e.g. ${name}=${await freePort()} npm run dev`)
    process.exit(1)
  }
}

const devVarsFile = (name: string): Record<string, string> => {
  const path = join(PROJECT_ROOT, name)
  return existsSync(path) ? (parseEnv(readFileSync(path, 'utf8')) as Record<string, string>) : {}
}
/** DEMO_DIALECT=anthropic or responses: the demo model spoken to in that API instead of OpenAI's chat completions. */
const dialect = process.env.DEMO_DIALECT || undefined
if (dialect !== undefined && !(dialect in DIALECTS)) {
  console.error(`DEMO_DIALECT is one of ${Object.keys(DIALECTS).join(', ')} (unset: chat completions), not ${dialect}`)
  process.exit(1)
}

const example = devVarsFile('.dev.vars.example')
const devVars = devVarsFile('.dev.vars')
const fromEnvironment = settingsFromEnvironment(process.env)
// The stack decides on the demo model from these, so a provider key in .dev.vars counts too.
const settings = { ...settingsFromEnvironment({ ...example, ...devVars }), ...fromEnvironment }

/** The key to try with; shown only when it is the documented example, never one of the operator's. */
function keyLine(): string {
  if (fromEnvironment.API_KEYS) return 'a key from API_KEYS (from the environment)'
  if (devVars.API_KEYS) return 'a key from API_KEYS in .dev.vars'
  const first = example.API_KEYS?.split(',')[0]
  return first ? `${first} (from .dev.vars.example; set API_KEYS to change)` : 'none: set API_KEYS'
}

/** What agents talk to, by setting names and model ids only. */
function modelLine(demo: boolean): string {
  if (demo) return `${DEMO_LABEL} a local scripted stand-in, not an LLM, in ${dialect ? DIALECTS[dialect as Dialect].api : 'OpenAI’s chat completions'} (set e.g. ANTHROPIC_API_KEY and DEFAULT_MODEL)`
  if (settings.DEFAULT_MODEL) return `${settings.DEFAULT_MODEL} (DEFAULT_MODEL)`
  try {
    const model = (JSON.parse(settings.OPENCODE_CONFIG ?? '{}') as { model?: unknown }).model
    if (typeof model === 'string') return `${model} (OPENCODE_CONFIG)`
  } catch {
    // a broken OPENCODE_CONFIG fails each session with its own clear error
  }
  const keys = Object.keys(settings).filter((k) => /_API_KEY$/.test(k) && k !== 'E2B_API_KEY')
  return `opencode's default for ${keys.join(', ') || 'OPENCODE_CONFIG'}`
}

/**
 * Without Slack settings, Slack is the local stand-in: a signed mention (docs/triggers.md) starts a
 * run for the first API key's tenant, whose messages are listed at the stand-in's `/_messages`.
 */
let slack: SlackStandIn | undefined
if (!settings.SLACK_SIGNING_SECRET && !settings.SLACK_BOT_TOKEN && !settings.SLACK_API_URL) {
  slack = await startSlackStandIn({ token: LOCAL_SLACK.botToken })
  Object.assign(settings, await LOCAL_SLACK.settings(slack.url, settings.API_KEYS?.split(',')[0]?.trim() ?? ''))
}

// wrangler's start-up chatter (binding table, "Ready on") is shown only if the start fails;
// once up, everything the Worker logs passes through.
let up = false
const startup: string[] = []
let stack: Awaited<ReturnType<typeof startStack>>
try {
  stack = await startStack({
    settings,
    port,
    sandboxHostPort,
    stateDir,
    sandboxRoot,
    onLog: (line) => (up ? process.stdout.write(line) : startup.push(line)),
    watch: true,
    ...(dialect && { opencodeConfig: inDialect(dialect as Dialect) }),
    // E2B_STANDIN=1: the production provider, offline, against the local E2B stand-in.
    ...(process.env.E2B_STANDIN === '1' && { e2bStandIn: { apiKey: 'e2b_local_standin_key' } }),
  })
} catch (err) {
  await slack?.close()
  process.stderr.write(startup.join(''))
  console.error(`npm run dev could not start: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
}
up = true

console.log(`
  opencode-sandbox-worker is up at ${stack.url}

  API key     ${keyLine()}
  sandboxes   ${stack.e2b ? `the E2B provider, against the local E2B stand-in (${stack.e2b.apiUrl})` : `local processes (sandbox host ${stack.sandboxHostUrl})`}
  model       ${modelLine(stack.model !== undefined)}
  slack       ${slack ? `a local Slack stand-in, team ${LOCAL_SLACK.team}, signing secret ${LOCAL_SLACK.signingSecret}; what runs post: curl -s ${slack.url}/_messages` : 'Slack (SLACK_* settings)'}
  playground  ${stack.url}/
  API docs    ${stack.url}/docs
  try         curl -s ${stack.url}/ready
`)

/**
 * However this ends, no sandbox outlives it: a stop closes the stack (sandboxes killed, their
 * folders removed); process.exit and a crash kill them in the sandbox host's exit handler; a
 * SIGKILL leaves it to the host's watchdog, and to the next start on the same state folder.
 */
let stopping = false
const stop = async (why: string) => {
  if (stopping) return
  stopping = true
  // A stack that cannot close in time is left to the exit handler, which kills every sandbox at once.
  setTimeout(() => process.exit(1), 20_000).unref()
  try {
    await stack.close()
    await slack?.close()
  } catch (err) {
    console.error(`stopping after ${why}: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
  process.exit(0)
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal))
// Whoever started this has gone: its pipe to our stdin closed, or our output has nowhere to go.
whenStdinCloses(() => void stop('stdin closed'))
whenOrphaned(() => void stop('parent gone'))
for (const out of [process.stdout, process.stderr]) {
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') void stop('output closed')
  })
}
