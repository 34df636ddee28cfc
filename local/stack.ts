import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BRIDGE_PATH } from '../src/sandbox/provider'
import { startE2BStandIn, type E2BStandIn } from './e2b-standin'
import { modelProviderConfig, startModelServer, type ModelServer } from './model-server'
import { freePort } from './ports'
import { startSandboxHost, type SandboxHost } from './sandbox-host'

/**
 * The whole local stack in one call: the offline demo model (when no provider is configured),
 * the sandbox host, and `wrangler dev` serving the Worker. `npm run dev` and the test suite
 * both start it here, so the tests run what a developer runs.
 */

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The Worker settings `npm run dev` takes from the environment (docs/operations.md, Settings). */
const SETTING_NAMES = [
  'API_KEYS',
  'SANDBOX_PROVIDER',
  'E2B_API_KEY',
  'E2B_TEMPLATE',
  'E2B_API_URL',
  'E2B_SANDBOX_URL',
  'OPENCODE_CONFIG',
  'DEFAULT_MODEL',
  'WEBHOOK_SECRET',
  'WEBHOOK_TENANT_KEY',
  'CALLBACK_SECRET',
  'ALLOW_LOCAL_CALLBACKS',
  'GITHUB_WEBHOOK_SECRET',
  'GITHUB_TOKEN',
  'GITHUB_API_URL',
  'GITHUB_TENANT_REPOS',
  'GITHUB_TRIGGER',
  'GITHUB_ALLOWED_ASSOCIATIONS',
  'GITHUB_MAX_RUNS_PER_HOUR',
  'GITHUB_APP_ID',
  'GITHUB_APP_PRIVATE_KEY',
  'GITHUB_OUTPUT',
  'GITHUB_COMMIT_AUTHOR',
  'SESSION_IDLE_SECONDS',
  'PENDING_TIMEOUT_SECONDS',
  'WARM_POOL_SIZE',
  'TIMINGS',
  'WARM_POOLS',
  'PAUSED_RETENTION_SECONDS',
  'ENDED_RETENTION_SECONDS',
  'PROVISION_TIMEOUT_SECONDS',
  'RECOVERY_TIMEOUT_SECONDS',
  'PUBLIC_URL',
  'MAX_ACTIVE_SESSIONS_PER_TENANT',
  'MAX_SESSION_CREATES_PER_MINUTE',
  'MAX_RUN_CREATES_PER_MINUTE',
  'TENANT_MAX_COST_USD_PER_DAY',
  'SECRETS_KEY',
  'CHECKPOINT_MAX_BYTES',
  'ALLOWED_HOSTS',
  'CORS_ORIGINS',
]

export function settingsFromEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    // A PEM key's newlines go escaped: the Worker reads `\n` back, and a dotenv line holds no newline.
    if (value && (SETTING_NAMES.includes(name) || /_API_KEY$/.test(name))) out[name] = name === 'GITHUB_APP_PRIVATE_KEY' ? value.replace(/\r?\n/g, '\\n') : value
  }
  return out
}

/** A model provider is configured when a key or an explicit opencode config says so. */
export function needsDemoModel(settings: Record<string, string>): boolean {
  const hasKey = Object.keys(settings).some((k) => /_API_KEY$/.test(k) && k !== 'E2B_API_KEY')
  return !hasKey && !settings.OPENCODE_CONFIG && !settings.DEFAULT_MODEL
}

/** One `KEY=value` line in the dotenv syntax wrangler reads, quoted with a quote the value lacks. */
export function dotenvLine(name: string, value: string): string {
  const quote = ["'", '`', '"'].find((q) => !value.includes(q) && !value.includes('\n'))
  if (!quote) throw new Error(`${name} holds every quote character or a newline; set it in .dev.vars instead`)
  return `${name}=${quote}${value}${quote}`
}

/**
 * The stack's own SECRETS_KEY as a dotenv file, made on first start and kept in the state folder
 * beside the sessions it seals, so that a restart on the same state still opens their secrets.
 * It comes first among the Worker's env files: one set in .dev.vars or the environment wins.
 */
export async function secretsKeyFile(stateDir: string): Promise<string> {
  const file = join(stateDir, 'secrets-key.env')
  const line = dotenvLine('SECRETS_KEY', randomBytes(32).toString('base64'))
  await writeFile(file, `${line}\n`, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
  })
  return file
}

export type StackOptions = {
  /** Worker settings; what is missing falls back to .dev.vars, then .dev.vars.example */
  settings: Record<string, string>
  port?: number
  sandboxHostPort?: number
  /** where wrangler keeps Durable Object state; the same folder across restarts keeps sessions */
  stateDir: string
  /** where sandboxes' folders go */
  sandboxRoot: string
  /** where the Worker's output goes; default: this process's stdout */
  onLog?: (line: string) => void
  /** read .dev.vars.example and .dev.vars under the given settings (default); tests turn this off */
  devVars?: boolean
  /** let tests cut connections to sandboxes (see SandboxHostOptions) */
  faultInjection?: boolean
  /** the network's settings every local sandbox gets (see SandboxHostOptions) */
  networkEnv?: Record<string, string>
  /** local sandboxes run opencode as a long-lived sandbox does (see SandboxHostOptions) */
  fullJit?: boolean
  /**
   * true: the scripted model even when provider keys are set (tests that pass fake keys);
   * false: no model at all, as a deployment nobody gave a provider; default: the scripted
   * model when no provider is configured
   */
  scriptedModel?: boolean
  /** OPENCODE_CONFIG made from the scripted model's (tests that add parts of their own to it) */
  opencodeConfig?: (scripted: Record<string, unknown>) => Record<string, unknown>
  /**
   * Sessions' sandboxes through the E2B provider, against a local E2B stand-in that accepts
   * `apiKey` (the Worker uses settings.E2B_API_KEY when given, else this key); `egressPorts`: more
   * host ports its sandboxes may reach (a test's git host), besides the Worker's and the model's.
   */
  e2bStandIn?: { apiKey: string; egressPorts?: number[] }
  /**
   * Settings (JSON text, as in `settings`) that go into the Worker's bundled
   * deployment-settings.json instead of its variables, as a deployment too large for variables
   * has them (src/config/bundled-settings.ts); the scripted model's OPENCODE_CONFIG may be one.
   */
  bundledSettings?: string[]
  /**
   * rebuild and reload the Worker when a source file changes (`npm run dev`); off by default, so
   * that a stack under test keeps the code it started with while the sources are edited
   */
  watch?: boolean
}

export type Stack = {
  url: string
  /** the key the scripted model answers to: held by the Worker's gateway, never by a sandbox */
  modelKey: string | undefined
  sandboxHostUrl: string
  sandboxHostToken: string
  model: ModelServer | undefined
  e2b: E2BStandIn | undefined
  /**
   * restarts only the Worker, keeping sandboxes, as a deploy would; `changes`: settings that differ
   * from then on (a deploy with other secrets or variables); `whileDown` is done after it stopped
   * and before it starts again, as a fault that lands while it is away
   */
  restartWorker(opts?: { changes?: Record<string, string>; whileDown?: () => Promise<unknown> }): Promise<void>
  /** stops the sandbox host, as when the machine that runs sandboxes goes away */
  stopSandboxHost(): Promise<void>
  close(): Promise<void>
}

async function waitForHealth(url: string, proc: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`wrangler dev exited with ${proc.exitCode}`)
    try {
      // The first request waits for the bundle to load, seconds on a busy machine; giving up
      // on it sooner only makes workerd log a broken pipe with a stack trace.
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(30_000) })
      if (res.ok) return
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`the Worker did not answer ${url}/health within ${timeoutMs / 1000} s`)
}

/**
 * Stops wrangler dev and then everything left in its process group. wrangler's own shutdown ends
 * its workerd processes, but when its Node process dies first (a crash, a kill during a reload)
 * they live on with no parent, holding ports and memory; nothing else would ever end them.
 */
async function endWorker(worker: ChildProcess) {
  if (worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((r) => worker.once('exit', r))
    worker.kill('SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000).unref())])
  }
  try {
    process.kill(-worker.pid!, 'SIGKILL')
  } catch {
    // ESRCH: the group has ended already.
  }
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const settings = { ...opts.settings }
  let model: ModelServer | undefined
  let host: SandboxHost | undefined
  let e2b: { standIn: E2BStandIn; root: string } | undefined
  let worker: ChildProcess | undefined
  const log = opts.onLog ?? ((line: string) => process.stdout.write(line))

  const stopSandboxHost = async () => {
    const stopping = host
    host = undefined
    await stopping?.close()
  }
  const close = async () => {
    // Sessions' alarms may still ask for sandboxes while the Worker stops; they are refused, and tried again at the next start.
    host?.stopAccepting()
    if (worker) await endWorker(worker)
    await stopSandboxHost()
    if (e2b) {
      await e2b.standIn.close()
      await rm(e2b.root, { recursive: true, force: true })
    }
    await model?.close()
  }

  let modelKey: string | undefined
  try {
    if (opts.scriptedModel ?? needsDemoModel(settings)) {
      modelKey = `sk-local-demo-${randomBytes(12).toString('hex')}`
      model = await startModelServer({ apiKey: modelKey })
      const scripted = modelProviderConfig(model.url, modelKey)
      settings.OPENCODE_CONFIG = JSON.stringify(opts.opencodeConfig ? opts.opencodeConfig(scripted) : scripted)
    }
    const port = opts.port ?? (await freePort())
    const url = `http://127.0.0.1:${port}`
    // Sandboxes call their models through the Worker's gateway, at the Worker's own address.
    settings.PUBLIC_URL ??= url
    const sandboxHostToken = randomBytes(16).toString('hex')
    const started = await startSandboxHost({
      root: opts.sandboxRoot,
      port: opts.sandboxHostPort,
      token: sandboxHostToken,
      faultInjection: opts.faultInjection,
      networkEnv: opts.networkEnv,
      fullJit: opts.fullJit,
    })
    host = started
    // Callbacks to a receiver on this machine (tests, a developer's listener) over http.
    settings.ALLOW_LOCAL_CALLBACKS ??= '1'
    // wrangler.toml describes the deployed Worker (E2B); this file's settings override it.
    settings.SANDBOX_PROVIDER ??= 'local'
    settings.LOCAL_SANDBOX_URL = started.url
    settings.LOCAL_SANDBOX_TOKEN = sandboxHostToken
    if (opts.e2bStandIn) {
      // Short: the stand-in's Unix socket paths live under it, and Linux limits their length.
      const root = await mkdtemp(join(tmpdir(), 'e2b-'))
      const standIn = await startE2BStandIn({
        apiKey: opts.e2bStandIn.apiKey,
        root,
        // The Worker for the model gateway; the scripted model too, for tests that call it directly.
        egressPorts: [port, ...(model ? [Number(new URL(model.url).port)] : []), ...(opts.e2bStandIn.egressPorts ?? [])],
        pathPrepend: [join(PROJECT_ROOT, 'node_modules', '.bin')],
        templateFiles: { [BRIDGE_PATH]: join(PROJECT_ROOT, 'agents', 'acp-bridge.mjs') },
      })
      e2b = { standIn, root }
      settings.SANDBOX_PROVIDER = 'e2b'
      settings.E2B_API_KEY ??= opts.e2bStandIn.apiKey
      settings.E2B_API_URL = standIn.apiUrl
      settings.E2B_SANDBOX_URL = standIn.sandboxUrl
    }

    // A dev server on a laptop answers only to its own names, so no web page can reach it by DNS rebinding.
    settings.ALLOWED_HOSTS ??= 'localhost,127.0.0.1'
    await mkdir(opts.stateDir, { recursive: true })
    const keyFile = await secretsKeyFile(opts.stateDir)
    // This stack's own file, bundled in place of the project's (local/wrangler-dev.ts).
    const bundledFile = join(opts.stateDir, 'deployment-settings.json')
    if (opts.bundledSettings) {
      const moved = Object.fromEntries(opts.bundledSettings.filter((name) => name in settings).map((name) => [name, JSON.parse(settings[name]!) as unknown]))
      for (const name of opts.bundledSettings) delete settings[name]
      await writeFile(bundledFile, JSON.stringify(moved))
    }
    const envFile = join(opts.stateDir, 'stack.env')
    const writeEnvFile = () => writeFile(envFile, Object.entries(settings).map(([k, v]) => dotenvLine(k, v)).join('\n') + '\n', { mode: 0o600 })
    await writeEnvFile()
    const envFiles = [keyFile].concat(
      (opts.devVars === false ? [] : ['.dev.vars.example', '.dev.vars']).map((f) => join(PROJECT_ROOT, f)).filter(existsSync),
      envFile,
    )
    const startWorker = async () => {
      // Node with tsx's loader, not tsx's command, which runs the script in a second Node process.
      worker = spawn(
        process.execPath,
        ['--import', 'tsx', join(PROJECT_ROOT, 'local', 'wrangler-dev.ts'), String(port), opts.stateDir, ...envFiles],
        {
          cwd: PROJECT_ROOT,
          env: {
            ...process.env,
            WRANGLER_SEND_METRICS: 'false',
            NO_COLOR: '1',
            FORCE_COLOR: '0',
            ...(opts.bundledSettings && { DEPLOYMENT_SETTINGS_FILE: bundledFile }),
            ...(opts.watch && { WRANGLER_DEV_WATCH: '1' }),
          },
          // Its stdin is a pipe only this process holds: when this process ends, however it ends, the Worker stops too.
          stdio: ['pipe', 'pipe', 'pipe'],
          // A group of its own, with workerd in it, for endWorker to sweep.
          detached: true,
        },
      )
      worker.stdout!.on('data', (d: Buffer) => log(d.toString()))
      worker.stderr!.on('data', (d: Buffer) => log(d.toString()))
      await waitForHealth(url, worker, 90_000)
    }

    await startWorker()
    return {
      url,
      modelKey,
      sandboxHostUrl: started.url,
      sandboxHostToken,
      model,
      e2b: e2b?.standIn,
      restartWorker: async ({ changes = {}, whileDown } = {}) => {
        await endWorker(worker!)
        await whileDown?.()
        Object.assign(settings, changes)
        await writeEnvFile()
        await startWorker()
      },
      stopSandboxHost,
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}
