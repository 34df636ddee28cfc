/**
 * Which calls the model gateway forwards: model calls, and nothing else a provider key can do
 * (files, batches, fine-tuning, an organisation's settings). A sandbox holds its gateway token,
 * so whatever passes here is what the agent can do with the operator's provider account.
 */

/** How a provider takes its key, which also tells which API it speaks: Anthropic's, Google's, or OpenAI's (a bearer token). */
export type KeyStyle = 'anthropic' | 'google' | 'bearer'

/** One allowed call: its method, and its path below the provider's base URL. */
type AllowedCall = { method: 'GET' | 'POST'; path: RegExp }

/** A model name as it appears in a path segment (`gemini-2.5-pro`, `claude-sonnet-4.5`). */
const MODEL = '[A-Za-z0-9][A-Za-z0-9._-]*'

/** By the API a provider speaks, which its key style tells (see `keyStyleOf`). */
const ALLOWED: Record<KeyStyle, AllowedCall[]> = {
  anthropic: [
    { method: 'POST', path: /^messages$/ },
    { method: 'POST', path: /^messages\/count_tokens$/ },
    { method: 'GET', path: /^models$/ },
  ],
  bearer: [
    { method: 'POST', path: /^chat\/completions$/ },
    { method: 'POST', path: /^responses$/ },
    { method: 'POST', path: /^completions$/ },
    { method: 'POST', path: /^embeddings$/ },
    { method: 'GET', path: /^models$/ },
  ],
  google: [
    { method: 'POST', path: new RegExp(`^models/${MODEL}:(generateContent|streamGenerateContent|countTokens)$`) },
    { method: 'GET', path: /^models$/ },
  ],
}

/**
 * What a path below the base may be made of, as it arrives (still percent-encoded): letters,
 * digits and `._-:` in non-empty segments. Anything encoded (`%2f`, `%5c`, `%09`, `%00`, `%2e`),
 * a backslash or a control character could change what the provider's URL parser makes of it.
 */
const PLAIN_PATH = /^[A-Za-z0-9._:-]+(\/[A-Za-z0-9._:-]+)*$/

/**
 * The path below a provider's base URL, as the provider's API names it. Anthropic's own SDK (so
 * Claude Code, whose base URL is the gateway's `<provider>` path) puts the version in the path
 * (`v1/messages`), while a route's base URL holds it already (`https://api.anthropic.com/v1`).
 */
export function apiPath(style: KeyStyle, path: string): string {
  return style === 'anthropic' && path.startsWith('v1/') ? path.slice(3) : path
}

export type CallCheck = { ok: true } | { ok: false; code: 'bad_request' | 'forbidden'; message: string }

/** Whether the gateway forwards `method` to `path` (below the provider's base, as it arrived) of a provider speaking `style`. */
export function checkCall(style: KeyStyle, method: string, path: string): CallCheck {
  if (!PLAIN_PATH.test(path) || path.split('/').some((segment) => segment === '.' || segment === '..')) {
    return { ok: false, code: 'bad_request', message: 'the path has encoded, control or dot segments; the gateway forwards plain model API paths only' }
  }
  if (!ALLOWED[style].some((call) => call.method === method && call.path.test(path))) {
    return { ok: false, code: 'forbidden', message: `the gateway forwards model calls only, not ${method} ${path}` }
  }
  return { ok: true }
}

/**
 * Request headers a model call needs, and the only ones sent on from a sandbox. Credentials are
 * the Worker's to add; `OpenAI-Organization` and `OpenAI-Project` would pick which of the
 * operator's organisations or projects pays, so they come from the deployment's configuration
 * (a provider's `headers`) or not at all.
 */
export const FORWARDED_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'content-type',
  'anthropic-version',
  'anthropic-beta',
  // OpenRouter's attribution of the calling app
  'http-referer',
  'x-title',
])
