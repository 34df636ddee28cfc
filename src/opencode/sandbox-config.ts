/**
 * What of the deployment's OPENCODE_CONFIG goes into sandboxes: an allow-list, because every
 * sandbox's agent can print its configuration, and a sandbox serves any tenant. Models, agents,
 * permissions, instructions and the like go; headers, environments, URLs that bypass the
 * gateway and anything credential-shaped stay in the Worker. An MCP server of the deployment's
 * that needs credentials is not copied at all (and /ready says so): a sandbox cannot use it
 * without them, and with them any tenant's agent could.
 */

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Top-level parts copied as they are: none of them holds a credential in opencode's schema. */
const PLAIN = [
  '$schema',
  'model',
  'small_model',
  'default_agent',
  'subagent_depth',
  'username',
  'instructions',
  'permission',
  'tools',
  'command',
  'snapshot',
  'disabled_providers',
  'enabled_providers',
  'compaction',
  'tool_output',
  'attachment',
  'layout',
  'watcher',
] as const

/** What an agent (or a `mode`, its old name) may say. */
const AGENT_FIELDS = ['model', 'variant', 'temperature', 'top_p', 'prompt', 'tools', 'disable', 'description', 'mode', 'hidden', 'options', 'color', 'steps', 'maxSteps', 'permission']

/** What a provider entry may say besides its models; its `api`, `env` and most options are the Worker's. */
const PROVIDER_FIELDS = ['id', 'name', 'npm', 'whitelist', 'blacklist']

/** A provider's options that only shape opencode's own behaviour. */
const PROVIDER_OPTIONS = ['setCacheKey', 'timeout', 'headerTimeout', 'chunkTimeout', 'includeUsage']

/** What a model entry may say: its catalogue facts and per-call options; not its `headers`, nor a `provider.api` that would bypass the gateway. */
const MODEL_FIELDS = ['id', 'name', 'family', 'release_date', 'attachment', 'reasoning', 'temperature', 'tool_call', 'interleaved', 'cost', 'limit', 'modalities', 'experimental', 'status', 'options', 'variants']

/** How a formatter or language server may be described: not its `environment`. */
const TOOL_FIELDS = ['command', 'extensions', 'disabled', 'initialization']

/** Names under free-form options that hold credentials, or carry them (headers, environments). */
const CREDENTIAL_NAME = /(api[-_]?key|secret|passw(or)?d|credential|^auth|authori[sz]ation|access[-_]?key|session[-_]?token|^token$|bearer|cookie|^headers?$|^environment$|^env$|private[-_]?key)/i

/** A command argument that carries a credential (`--api-key=…`, `TOKEN=…`). */
const CREDENTIAL_ARGUMENT = /(api[-_]?key|secret|passw(or)?d|token|credential|authori[sz]ation|bearer)/i

const pick = (from: Json, keys: readonly string[]): Json => Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]]))

/** Free-form options without credential-shaped names, at any depth. */
function withoutCredentials(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCredentials)
  if (!isObject(value)) return value
  return Object.fromEntries(Object.entries(value).filter(([k]) => !CREDENTIAL_NAME.test(k)).map(([k, v]) => [k, withoutCredentials(v)]))
}

function eachEntry(section: unknown, map: (entry: Json, name: string) => Json | undefined): Json | undefined {
  if (!isObject(section)) return undefined
  const out: Json = {}
  for (const [name, entry] of Object.entries(section)) {
    const mapped = isObject(entry) ? map(entry, name) : undefined
    if (mapped) out[name] = mapped
  }
  return out
}

function agentPart(agent: Json): Json {
  const out = pick(agent, AGENT_FIELDS)
  if (out.options !== undefined) out.options = withoutCredentials(out.options)
  return out
}

function modelPart(model: Json): Json {
  const out = pick(model, MODEL_FIELDS)
  if (out.options !== undefined) out.options = withoutCredentials(out.options)
  if (out.variants !== undefined) out.variants = withoutCredentials(out.variants)
  if (isObject(model.provider) && typeof model.provider.npm === 'string') out.provider = { npm: model.provider.npm }
  return out
}

/** A provider entry as a sandbox may see it; the gateway adds its own `baseURL` and token (see sandboxProviders). */
export function providerPart(provider: Json): Json {
  const out = pick(provider, PROVIDER_FIELDS)
  const options = isObject(provider.options) ? pick(provider.options, PROVIDER_OPTIONS) : {}
  if (Object.keys(options).length > 0) out.options = options
  const models = eachEntry(provider.models, modelPart)
  if (models) out.models = models
  return out
}

/** Why an MCP server of the deployment cannot go into sandboxes, if it cannot. */
function mcpProblem(server: Json): string | undefined {
  if (isObject(server.environment) && Object.keys(server.environment).length > 0) return 'it needs an environment'
  if (isObject(server.headers) && Object.keys(server.headers).length > 0) return 'it needs headers'
  if (isObject(server.oauth)) return 'it needs OAuth credentials'
  if (typeof server.url === 'string') {
    let url: URL
    try {
      url = new URL(server.url)
    } catch {
      return 'its url is not a URL'
    }
    if (url.username || url.password || url.search) return 'its url carries credentials or a query'
  }
  if (Array.isArray(server.command) && server.command.some((arg) => typeof arg === 'string' && CREDENTIAL_ARGUMENT.test(arg))) {
    return 'its command carries a credential'
  }
  return undefined
}

function toolsPart(section: unknown): unknown {
  if (!isObject(section)) return section
  return eachEntry(section, (tool) => pick(tool, TOOL_FIELDS))
}

export type SandboxConfigPart = {
  /** what sandboxes get of OPENCODE_CONFIG */
  config: Json
  /** why parts were left out that the deployment may count on (its MCP servers), for /ready */
  refused: string[]
}

/** The part of the deployment's OPENCODE_CONFIG that sandboxes get, and what was refused. */
export function sandboxConfigPart(deployment: Json): SandboxConfigPart {
  const config = pick(deployment, PLAIN)
  const refused: string[] = []
  const agent = eachEntry(deployment.agent, agentPart)
  if (agent) config.agent = agent
  const mode = eachEntry(deployment.mode, agentPart)
  if (mode) config.mode = mode
  const provider = eachEntry(deployment.provider, providerPart)
  if (provider) config.provider = provider
  for (const key of ['formatter', 'lsp'] as const) if (deployment[key] !== undefined) config[key] = toolsPart(deployment[key])
  const mcp = eachEntry(deployment.mcp, (server, name) => {
    const problem = mcpProblem(server)
    if (problem) refused.push(`OPENCODE_CONFIG's MCP server "${name}" is not given to sandboxes: ${problem}, which every tenant's agent could read`)
    return problem ? undefined : pick(server, ['type', 'command', 'cwd', 'url', 'enabled', 'timeout'])
  })
  if (mcp) config.mcp = mcp
  return { config, refused }
}
