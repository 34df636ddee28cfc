import { runtimeCatalogue, type AgentCatalogue, type CatalogueAgent, type CatalogueModel, type ModelCatalogue } from '../contracts'

/**
 * What a deployment can run, read from its OPENCODE_CONFIG and the providers its gateway can
 * reach, without asking a sandbox. The Worker has no copy of opencode's models.dev catalogue, so
 * a model's abilities are what its OPENCODE_CONFIG entry says:
 * - `attachments`: the entry has `attachment: true`, or `modalities.input` lists `image` or `pdf`;
 * - `reasoning`: the entry has `reasoning: true`;
 * a model named only by DEFAULT_MODEL or `model` has neither.
 */

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function splitModel(id: string): [string, string] {
  const slash = id.indexOf('/')
  return [id.slice(0, slash), id.slice(slash + 1)]
}

function takesFiles(entry: Json): boolean {
  const input = isObject(entry.modalities) && Array.isArray(entry.modalities.input) ? entry.modalities.input : []
  return entry.attachment === true || input.includes('image') || input.includes('pdf')
}

/**
 * `providers`: the ids the gateway can reach, each with whether opencode knows its models by
 * name (then a model the configuration does not list is still accepted).
 */
export function modelCatalogue(config: Json, providers: { id: string; known: boolean }[], defaultModel: string | undefined): ModelCatalogue {
  const configured = isObject(config.provider) ? config.provider : {}
  const models: CatalogueModel[] = []
  for (const { id: provider } of providers) {
    const entry = configured[provider]
    const listed = isObject(entry) && isObject(entry.models) ? entry.models : {}
    for (const [modelId, model] of Object.entries(listed)) {
      const m = isObject(model) ? model : {}
      models.push({
        id: `${provider}/${modelId}`,
        name: typeof m.name === 'string' ? m.name : modelId,
        provider,
        attachments: takesFiles(m),
        reasoning: m.reasoning === true,
      })
    }
  }
  const catalogue: ModelCatalogue = {
    default: defaultModel ?? (typeof config.model === 'string' ? config.model : null),
    models,
    providers: providers.map(({ id, known }) => ({ id, anyModel: known })),
  }
  const fallback = catalogue.default
  if (fallback && fallback.includes('/') && !models.some((m) => m.id === fallback)) {
    const [provider, modelId] = splitModel(fallback)
    if (providers.some((p) => p.id === provider)) models.push({ id: fallback, name: modelId, provider, attachments: false, reasoning: false })
  }
  return catalogue
}

/** Whether sessions and messages may name `model` in a deployment with this catalogue. */
export function inCatalogue(catalogue: ModelCatalogue, model: string): boolean {
  const [provider] = splitModel(model)
  return catalogue.models.some((m) => m.id === model) || catalogue.providers.some((p) => p.id === provider && p.anyModel)
}

/** opencode's own agents that a client may pick or see started (its hidden ones, title and compaction, are not). */
const NATIVE_AGENTS: CatalogueAgent[] = [
  { name: 'build', description: 'The default agent: edits files and runs commands as its permissions allow', mode: 'primary', native: true },
  { name: 'plan', description: 'Plans and analyses without changing files', mode: 'primary', native: true },
  { name: 'general', description: 'A sub-agent for research and multi-step tasks', mode: 'subagent', native: true },
  { name: 'explore', description: 'A sub-agent that searches and reads the codebase quickly', mode: 'subagent', native: true },
]

const MODES = ['primary', 'subagent', 'all'] as const

/**
 * opencode's agents as OPENCODE_CONFIG's `agent` section leaves them: its own four, each
 * configured one (mode `all` unless it says), minus those it disables or hides.
 */
export function agentCatalogue(config: Json): AgentCatalogue {
  const agents = new Map(NATIVE_AGENTS.map((a) => [a.name, a]))
  const configured = isObject(config.agent) ? config.agent : {}
  for (const [name, value] of Object.entries(configured)) {
    const entry = isObject(value) ? value : {}
    if (entry.disable === true || entry.hidden === true) {
      agents.delete(name)
      continue
    }
    const native = agents.get(name)
    const mode = MODES.find((m) => m === entry.mode) ?? native?.mode ?? 'all'
    const description = typeof entry.description === 'string' ? entry.description : native?.description
    agents.set(name, {
      name,
      ...(description && { description }),
      mode,
      native: native?.native ?? false,
      ...(typeof entry.model === 'string' && { model: entry.model }),
    })
  }
  const preferred = typeof config.default_agent === 'string' ? config.default_agent : 'build'
  return { default: agents.has(preferred) ? preferred : 'build', agents: [...agents.values()], runtimes: runtimeCatalogue() }
}
