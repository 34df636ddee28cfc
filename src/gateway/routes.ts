import { parseDeploymentConfig } from '../opencode/config'
import { FORWARDED_HEADERS, type KeyStyle } from './calls'
import type { ModelPrice } from './price-table'

/**
 * Where each model provider really is and how it wants its key: the table the model gateway
 * forwards by. Sandboxes never see it; their opencode configuration points every provider at
 * the gateway instead (see `sandboxProviders`).
 */

type Json = Record<string, unknown>

export type ModelRoute = {
  /** opencode's provider id, also the gateway path segment */
  id: string
  /** the provider's real base URL; the gateway appends what follows `/v1/gateway/<id>` */
  baseURL: string
  keyStyle: KeyStyle
  /** the deployment's key for it, if it has one (a session may bring its own) */
  key?: string
  /** extra headers the deployment configured for the provider (they may carry credentials) */
  headers?: Record<string, string>
  /** USD per million tokens, by model id, where the deployment's configuration says (see prices.ts for the rest) */
  prices: Record<string, ModelPrice>
}

/** What the gateway needs to forward one call: where to, and with which key. */
export type GatewayGrant = { route: ModelRoute; key: string | undefined }

/** Providers opencode knows by name, their public endpoints and the settings that hold their keys. */
const KNOWN: Record<string, { baseURL: string; keyStyle: KeyStyle; envKeys: string[] }> = {
  anthropic: { baseURL: 'https://api.anthropic.com/v1', keyStyle: 'anthropic', envKeys: ['ANTHROPIC_API_KEY'] },
  openai: { baseURL: 'https://api.openai.com/v1', keyStyle: 'bearer', envKeys: ['OPENAI_API_KEY'] },
  google: {
    baseURL: 'https://generativelanguage.googleapis.com/v1beta',
    keyStyle: 'google',
    envKeys: ['GOOGLE_GENERATIVE_AI_API_KEY', 'GEMINI_API_KEY'],
  },
  openrouter: { baseURL: 'https://openrouter.ai/api/v1', keyStyle: 'bearer', envKeys: ['OPENROUTER_API_KEY'] },
  groq: { baseURL: 'https://api.groq.com/openai/v1', keyStyle: 'bearer', envKeys: ['GROQ_API_KEY'] },
  mistral: { baseURL: 'https://api.mistral.ai/v1', keyStyle: 'bearer', envKeys: ['MISTRAL_API_KEY'] },
  deepseek: { baseURL: 'https://api.deepseek.com/v1', keyStyle: 'bearer', envKeys: ['DEEPSEEK_API_KEY'] },
  xai: { baseURL: 'https://api.x.ai/v1', keyStyle: 'bearer', envKeys: ['XAI_API_KEY'] },
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

function keyStyleOf(npm: unknown, fallback: KeyStyle): KeyStyle {
  if (npm === '@ai-sdk/anthropic') return 'anthropic'
  if (npm === '@ai-sdk/google') return 'google'
  if (typeof npm === 'string') return 'bearer'
  return fallback
}

function pricesOf(models: unknown): ModelRoute['prices'] {
  const prices: ModelRoute['prices'] = {}
  if (!isObject(models)) return prices
  for (const [id, model] of Object.entries(models)) {
    const cost = isObject(model) ? model.cost : undefined
    if (isObject(cost) && typeof cost.input === 'number' && typeof cost.output === 'number') {
      const limit = isObject(model) && isObject(model.limit) ? model.limit.output : undefined
      prices[id] = {
        input: cost.input,
        output: cost.output,
        // opencode's names for the cache prices
        ...(typeof cost.cache_read === 'number' && { cacheRead: cost.cache_read }),
        ...(typeof cost.cache_write === 'number' && { cacheWrite: cost.cache_write }),
        ...(typeof limit === 'number' && limit > 0 && { outputLimit: limit }),
      }
    }
  }
  return prices
}

/**
 * Every provider the deployment can route: those whose key is in the Worker's settings, and
 * every provider of OPENCODE_CONFIG with a base URL or a key of its own. `config` is the parsed
 * OPENCODE_CONFIG; `env` the Worker's variables.
 */
export function modelRoutes(config: Json, env: Record<string, unknown>): Map<string, ModelRoute> {
  const routes = new Map<string, ModelRoute>()
  for (const [id, known] of Object.entries(KNOWN)) {
    const key = known.envKeys.map((name) => env[name]).find((v): v is string => typeof v === 'string' && v !== '')
    if (key) routes.set(id, { id, baseURL: known.baseURL, keyStyle: known.keyStyle, key, prices: {} })
  }
  const providers = isObject(config.provider) ? config.provider : {}
  for (const [id, entry] of Object.entries(providers)) {
    if (!isObject(entry)) continue
    const options = isObject(entry.options) ? entry.options : {}
    const known = KNOWN[id]
    const baseURL = typeof options.baseURL === 'string' ? options.baseURL : known?.baseURL
    if (!baseURL) continue
    const headers = isObject(options.headers)
      ? Object.fromEntries(Object.entries(options.headers).filter((e): e is [string, string] => typeof e[1] === 'string'))
      : undefined
    routes.set(id, {
      id,
      baseURL: baseURL.replace(/\/+$/, ''),
      keyStyle: keyStyleOf(entry.npm, known?.keyStyle ?? 'bearer'),
      key: typeof options.apiKey === 'string' ? options.apiKey : routes.get(id)?.key,
      ...(headers && { headers }),
      prices: pricesOf(entry.models),
    })
  }
  return routes
}

let memo: { config: string | undefined; keys: Record<string, string>; routes: Map<string, ModelRoute> } | undefined

/**
 * The deployment's routes, read once per settings: every model call asks, and OPENCODE_CONFIG
 * only changes with a deploy.
 */
export function deploymentRoutes(settings: { opencodeConfig: string | undefined; providerKeys: Record<string, string> }): Map<string, ModelRoute> {
  const sameKeys = (a: Record<string, string>, b: Record<string, string>) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v)
  if (!memo || memo.config !== settings.opencodeConfig || !sameKeys(memo.keys, settings.providerKeys)) {
    memo = { config: settings.opencodeConfig, keys: settings.providerKeys, routes: modelRoutes(parseDeploymentConfig(settings.opencodeConfig), settings.providerKeys) }
  }
  return memo.routes
}

/** Whether opencode knows `provider` by name (and so its models, from its own catalogue). */
export const isKnownProvider = (provider: string): boolean => provider in KNOWN

/** Whether the gateway can reach `provider` at all: configured, or known to opencode by name. */
export function canRoute(routes: Map<string, ModelRoute>, provider: string): boolean {
  return routes.has(provider) || provider in KNOWN
}

/** The route for a provider a session brought its own key for, known to opencode but not configured. */
export function routeFor(routes: Map<string, ModelRoute>, provider: string): ModelRoute | undefined {
  const route = routes.get(provider)
  if (route) return route
  const known = KNOWN[provider]
  return known && { id: provider, baseURL: known.baseURL, keyStyle: known.keyStyle, prices: {} }
}

/**
 * The `provider` section of a sandbox's opencode configuration: each routable provider points at
 * the gateway with the session's gateway token as its key. `config` is the part of the
 * deployment's configuration sandboxes may see (sandboxConfigPart): no key, header or real URL.
 */
export function sandboxProviders(config: Json, routable: string[], gatewayUrl: string, token: string): Json {
  const configured = isObject(config.provider) ? config.provider : {}
  const out: Json = {}
  for (const id of routable) {
    const entry = isObject(configured[id]) ? configured[id] : {}
    const options = isObject(entry.options) ? entry.options : {}
    out[id] = { ...entry, options: { ...options, baseURL: `${gatewayUrl}/${id}`, apiKey: token } }
  }
  return out
}

/** The gateway token a request from a sandbox carries, in whichever header its provider's SDK uses. */
export function tokenOf(headers: Headers, query: URLSearchParams): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.get('authorization') ?? '')?.[1]
  return bearer ?? headers.get('x-api-key') ?? headers.get('x-goog-api-key') ?? query.get('key') ?? undefined
}

/** The request headers to send on: those of the sandbox's a model call needs (FORWARDED_HEADERS), the deployment's for the provider, and the real key. */
export function upstreamHeaders(incoming: Headers, route: ModelRoute, key: string | undefined): Headers {
  const out = new Headers()
  for (const [name, value] of incoming) if (FORWARDED_HEADERS.has(name.toLowerCase())) out.set(name, value)
  for (const [name, value] of Object.entries(route.headers ?? {})) out.set(name, value)
  if (key) {
    if (route.keyStyle === 'anthropic') out.set('x-api-key', key)
    else if (route.keyStyle === 'google') out.set('x-goog-api-key', key)
    else out.set('authorization', `Bearer ${key}`)
  }
  return out
}

/**
 * The provider URL for `path` (below the base, already checked by checkCall), built by the URL
 * parser and refused unless it is still below the route's base. The query goes on without `key`.
 */
export function upstreamUrl(route: ModelRoute, path: string, query: URLSearchParams): string | undefined {
  let base: URL
  let target: URL
  try {
    base = new URL(`${route.baseURL}/`)
    // `./` first, so that a segment with a colon is never read as a scheme
    target = new URL(`./${path}`, base)
  } catch {
    return undefined
  }
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname) || target.pathname === base.pathname) return undefined
  const params = new URLSearchParams(query)
  params.delete('key')
  target.search = params.toString()
  return target.href
}
