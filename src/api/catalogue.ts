import { createRoute } from '@hono/zod-openapi'
import type { Bindings } from '../env'
import { AgentCatalogue, DEFAULT_RUNTIME, ErrorBody, ModelCatalogue, RUNTIME_INFO, unsupportedMessage, type Runtime } from '../contracts'
import { deploymentRoutes, isKnownProvider } from '../gateway/routes'
import { ApiError } from '../lib/errors'
import { ConfigError, parseDeploymentConfig } from '../opencode/config'
import { agentCatalogue, inCatalogue, modelCatalogue } from '../opencode/catalogue'
import { runtimeModel } from '../sandbox/runtime-env'
import { readSettings } from '../config/settings'
import { json, router, security } from './openapi'

const errors = {
  401: json(ErrorBody, 'Missing or unknown credentials'),
  503: json(ErrorBody, '`misconfigured`: OPENCODE_CONFIG is not a JSON object'),
}

/** OPENCODE_CONFIG, or 503 naming the setting when it cannot be read. */
function deploymentConfig(env: Bindings) {
  try {
    return parseDeploymentConfig(readSettings(env).opencodeConfig)
  } catch (err) {
    if (err instanceof ConfigError) throw new ApiError('misconfigured', err.message, { missing: ['OPENCODE_CONFIG'] })
    throw err
  }
}

/** The models this deployment can run (see src/opencode/catalogue.ts). */
export function deploymentModels(env: Bindings): ModelCatalogue {
  const settings = readSettings(env)
  const providers = [...deploymentRoutes(settings).keys()].map((id) => ({ id, known: isKnownProvider(id) }))
  return modelCatalogue(deploymentConfig(env), providers, settings.defaultModel)
}

/** Whether a session may name `model`: in the catalogue, or of a provider opencode knows that the session brought its own key for (`ownKeys`). */
export function admitsModel(env: Bindings, model: string, ownKeys: string[] = []): boolean {
  const provider = model.slice(0, model.indexOf('/'))
  if (ownKeys.includes(provider) && isKnownProvider(provider)) return true
  return inCatalogue(deploymentModels(env), model)
}

/** 400 pointing at the list a name should have come from. */
function unknownName(requestUrl: string, field: 'model' | 'agent', name: string): never {
  const list = `${new URL(requestUrl).origin}/v1/${field}s`
  throw new ApiError('validation_failed', `${field} "${name}" is not one this deployment runs; see ${list}`, [
    { path: `json.${field}`, message: `not in the ${field} catalogue`, code: `unknown_${field}`, [`${field}s`]: list },
  ])
}

/** Refuses a model outside the catalogue with 400, pointing at the list. `ownKeys`: providers a session brought its own key for. */
export function requireCatalogueModel(env: Bindings, requestUrl: string, model: string | undefined, ownKeys: string[] = []) {
  if (model !== undefined && !admitsModel(env, model, ownKeys)) unknownName(requestUrl, 'model', model)
}

/** Refuses an agent that is not one of `GET /v1/agents` with 400, pointing at the list. */
export function requireCatalogueAgent(env: Bindings, requestUrl: string, agent: string | undefined) {
  if (agent !== undefined && !agentCatalogue(deploymentConfig(env)).agents.some((a) => a.name === agent)) unknownName(requestUrl, 'agent', agent)
}

/**
 * Refuses with 400 `unsupported_for_runtime` what a session's runtime cannot do: a runtime not
 * available in this build, opencode's agent profiles or structured answers on another agent, or
 * a deployment with no provider speaking the agent's model API.
 */
export function requireRuntime(env: Bindings, runtime: Runtime | undefined, asked: { model?: string; agent?: string; outputSchema?: unknown }) {
  if (!runtime || runtime === DEFAULT_RUNTIME) return
  if (!RUNTIME_INFO[runtime].available) throw new ApiError('unsupported_for_runtime', `the ${runtime} runtime is not available in this deployment yet; see GET /v1/agents`)
  if (asked.agent !== undefined) throw new ApiError('unsupported_for_runtime', unsupportedMessage(runtime, 'agentProfiles'))
  if (asked.outputSchema !== undefined) throw new ApiError('unsupported_for_runtime', unsupportedMessage(runtime, 'structuredOutput'))
  const settings = readSettings(env)
  const target = runtimeModel(runtime, deploymentRoutes(settings), asked.model, settings.defaultModel)
  if (!target || (asked.model !== undefined && `${target.provider}/${target.model}` !== asked.model)) {
    const api = RUNTIME_INFO[runtime].dialect === 'anthropic' ? 'Anthropic Messages' : 'OpenAI Responses'
    throw new ApiError('unsupported_for_runtime', `the ${runtime} runtime needs a model of a provider speaking the ${api} API${asked.model ? `, and ${asked.model} is not one` : ', and this deployment has none'}`)
  }
}

export const catalogue = router()
  .openapi(
    createRoute({
      method: 'get',
      path: '/models',
      summary: 'The models this deployment can run',
      description:
        "From OPENCODE_CONFIG and the providers with keys. `attachments` and `reasoning` are what the model's OPENCODE_CONFIG entry says (`attachment: true` or `modalities.input` with `image`/`pdf`; `reasoning: true`); a model no entry describes has neither.",
      security,
      responses: { 200: json(ModelCatalogue, 'The catalogue'), ...errors },
    }),
    (c) => c.json(deploymentModels(c.env), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/agents',
      summary: "The runtimes (coding agents) and opencode's agent profiles in this deployment",
      description:
        '`runtimes`: the coding agents a session can run (`runtime`: opencode, Claude Code, Codex), with what each supports; a route a runtime lacks answers 400 `unsupported_for_runtime`. `agents`: opencode’s agent profiles (`agent`), build, plan and its sub-agents, with those OPENCODE_CONFIG’s `agent` section adds, changes, disables or hides.',
      security,
      responses: { 200: json(AgentCatalogue, 'The agents'), ...errors },
    }),
    (c) => c.json(agentCatalogue(deploymentConfig(c.env)), 200),
  )
