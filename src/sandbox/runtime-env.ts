import { RUNTIME_INFO, type Runtime } from '../contracts'
import type { KeyStyle } from '../gateway/calls'
import type { ModelRoute } from '../gateway/routes'
import { SKILLS_DIR } from '../opencode/skills'

/** Claude Code's model when the session and the deployment name none of an Anthropic provider. */
const CLAUDE_DEFAULT_MODEL = 'claude-sonnet-4-5'
const CODEX_DEFAULT_MODEL = 'gpt-5.3-codex'

/** The key style (so the API) each ACP runtime's agent speaks to its model. */
const STYLE: Partial<Record<Runtime, KeyStyle>> = { 'claude-code': 'anthropic', codex: 'bearer' }

export type RuntimeModel = { provider: string; model: string }

/**
 * The provider and model an ACP runtime's agent talks to, through the gateway: the session's
 * model when its provider speaks the agent's API, else the deployment's default when it does,
 * else the first provider that does. Undefined: the deployment has none (the session is refused).
 */
export function runtimeModel(runtime: Runtime, routes: Map<string, ModelRoute>, model: string | undefined, defaultModel: string | undefined): RuntimeModel | undefined {
  const style = STYLE[runtime]
  if (!style) return undefined
  const split = (m: string | undefined) => (m && m.includes('/') ? { provider: m.slice(0, m.indexOf('/')), model: m.slice(m.indexOf('/') + 1) } : undefined)
  // Every Anthropic-style provider speaks the Messages API; of the bearer ones, OpenAI's own is the one known to speak Responses.
  const speaksApi = (r: ModelRoute | undefined) => r !== undefined && r.keyStyle === style && (style === 'anthropic' || r.id === 'openai')
  const chosen = split(model)
  // A model the session named is its choice (Codex then needs its provider to speak Responses); the default must speak it.
  if (chosen && routes.get(chosen.provider)?.keyStyle === style && (model !== defaultModel || speaksApi(routes.get(chosen.provider)))) return chosen
  const fallback = split(defaultModel)
  if (fallback && speaksApi(routes.get(fallback.provider))) return fallback
  const route = [...routes.values()].find(speaksApi)
  if (!route) return undefined
  const listed = Object.keys(route.prices)[0]
  return { provider: route.id, model: listed ?? (runtime === 'codex' ? CODEX_DEFAULT_MODEL : CLAUDE_DEFAULT_MODEL) }
}

/**
 * The environment an ACP runtime's agent runs with: its model API's base URL pointed at the
 * gateway with the session's gateway token as its credential (no provider key enters the
 * sandbox), and every call home (telemetry, error reports, update checks) turned off by the
 * agent's own settings.
 *
 * Claude Code gets the token as `ANTHROPIC_AUTH_TOKEN` (sent as a bearer token, the way its
 * documentation sets up an LLM gateway), not as `ANTHROPIC_API_KEY`: with an API key it calls
 * api.anthropic.com itself, whatever its base URL and none of its switches can stop it (its
 * organisation-metrics exporter checks `/api/claude_code/organizations/metrics_enabled` five
 * minutes after its start and at its exit), sending the key it holds. Those calls need an API key
 * or a claude.ai login; it has neither, so it makes none. Its fast-mode prefetch, also to
 * api.anthropic.com at its start, has a switch of its own.
 */
export function runtimeEnv(runtime: Runtime, target: RuntimeModel, gateway: { url: string; token: string }): Record<string, string> {
  const base = `${gateway.url}/${target.provider}`
  if (RUNTIME_INFO[runtime].dialect === 'anthropic') {
    return {
      ANTHROPIC_BASE_URL: base,
      ANTHROPIC_AUTH_TOKEN: gateway.token,
      ANTHROPIC_MODEL: target.model,
      ANTHROPIC_SMALL_FAST_MODEL: target.model,
      CLAUDE_CODE_DISABLE_FAST_MODE: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_BUG_COMMAND: '1',
      CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY: '1',
    }
  }
  // Codex takes its provider from its configuration (runtimeFiles); the key from the environment variable it names.
  return { OPENAI_API_KEY: gateway.token, CODEX_API_KEY: gateway.token }
}

/** Where each runtime's agent looks for the sandbox user's own skills (`<name>/SKILL.md`), relative to their home. */
export const SKILLS_DIRS: Record<Runtime, string> = { opencode: SKILLS_DIR, 'claude-code': '.claude/skills', codex: '.codex/skills' }

/**
 * Files of the sandbox user's home an ACP runtime's agent reads at its start. Codex: its
 * configuration, naming the gateway as its one model provider (the Responses API, over HTTP),
 * turning its update check off, and running commands without its own inner sandbox (bubblewrap,
 * which a sandbox does not have: the sandbox is the boundary, as for opencode) but asking before
 * any command it does not know to be read-only; and the session's instructions as its global
 * `AGENTS.md`. No secret: the key stays in the environment. Claude Code takes the instructions
 * appended to its system prompt at `session/new` (src/acp/agent.ts).
 */
export function runtimeFiles(runtime: Runtime, target: RuntimeModel, gateway: { url: string }, instructions?: string): { path: string; content: string }[] {
  if (runtime !== 'codex') return []
  const toml = [
    `model = ${JSON.stringify(target.model)}`,
    'model_provider = "gateway"',
    'check_for_update_on_startup = false',
    'sandbox_mode = "danger-full-access"',
    'approval_policy = "untrusted"',
    '',
    '[model_providers.gateway]',
    'name = "model gateway"',
    `base_url = ${JSON.stringify(`${gateway.url}/${target.provider}`)}`,
    'env_key = "OPENAI_API_KEY"',
    'wire_api = "responses"',
    '',
  ].join('\n')
  return [{ path: '.codex/config.toml', content: toml }, ...(instructions ? [{ path: '.codex/AGENTS.md', content: `${instructions}\n` }] : [])]
}
