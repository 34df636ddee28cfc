/**
 * What a person may reach of opencode's own server API through a session
 * (`/v1/sessions/:id/opencode/...`, for `opencode attach` and opencode's SDK): everything a client
 * of opencode uses, but nothing that would change or show the sandbox's credentials and model
 * gateway, or stop the agent the session itself talks to.
 */

export type PassthroughDecision =
  | { action: 'refuse'; reason: string }
  /** `redact`: a JSON answer that may carry the sandbox's gateway token (opencode's configuration, its providers), which goes without it */
  | { action: 'forward'; redact: boolean }

/** Routes whose every method is refused, by prefix of the path. */
const REFUSED: [RegExp, string][] = [
  [/^\/auth(\/|$)/, "opencode's credentials are the deployment's: the sandbox reaches models through the gateway"],
  [/^\/provider\/[^/]+\/oauth(\/|$)/, "opencode's credentials are the deployment's: the sandbox reaches models through the gateway"],
  [/^\/(global|instance)\/dispose\/?$/, 'the session’s agent is not to be stopped from here; end the session instead'],
]
/** Routes that may be read (their answers redacted) but not written: they hold the gateway's address and token. */
const READ_ONLY = /^\/(global\/)?config(\/|$)|^\/provider(\/|$)/

/**
 * `path` is the part after `/opencode`, as the Worker received it (still percent-encoded); a path
 * that climbs (`..`) or hides a slash is refused before any route is matched on it.
 */
export function passthroughDecision(method: string, path: string): PassthroughDecision {
  if (!path.startsWith('/') || /(^|\/)\.\.?(\/|$)|%2f|%5c|\\/i.test(path)) return { action: 'refuse', reason: 'not a path of opencode’s API' }
  for (const [pattern, reason] of REFUSED) if (pattern.test(path)) return { action: 'refuse', reason }
  if (method === 'DELETE' && /^\/session\/[^/]+\/?$/.test(path)) {
    return { action: 'refuse', reason: 'the conversation the session talks to is not deleted from here; end the session instead' }
  }
  if (READ_ONLY.test(path)) {
    return method === 'GET' || method === 'HEAD'
      ? { action: 'forward', redact: true }
      : { action: 'refuse', reason: 'opencode’s configuration and providers hold the model gateway: they are read-only here' }
  }
  return { action: 'forward', redact: false }
}

/** Fields that hold a credential in opencode's configuration (a provider's `options.apiKey` is the sandbox's gateway token). */
const SECRET_FIELDS = new Set(['apiKey', 'headers'])

/** `value` without any credential field, at any depth. */
export function redactCredentials(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactCredentials)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).filter(([key]) => !SECRET_FIELDS.has(key)).map(([key, v]) => [key, redactCredentials(v)]))
}
