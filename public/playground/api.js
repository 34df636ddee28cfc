// @ts-check
// HTTP to the API of this same origin, always with the key in the Authorization header, never in a URL.
import { tab } from './state.js'

/** An answer outside 2xx; `status` tells "gone" (404) from what asking again may fix. */
export class ApiError extends Error {
  /** @param {string} message @param {number} status */
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

/**
 * The JSON answer of `method path`, or an ApiError with the API's own `code: message`.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function call(method, path, body) {
  if (!tab.apiKey) throw new Error('paste an API key first')
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${tab.apiKey}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let json = null
  try { json = text ? JSON.parse(text) : null } catch { /* not JSON: the text says what went wrong */ }
  if (!res.ok) throw new ApiError(json && json.error ? `${json.error.code}: ${json.error.message}` : `${res.status} ${text.slice(0, 200)}`, res.status)
  return json
}

/** A path under the session this tab shows. */
export const sessionPath = (suffix = '') => `/v1/sessions/${encodeURIComponent(tab.sessionId ?? '')}${suffix}`

/** @param {unknown} err */
export const statusOf = (err) => (err instanceof ApiError ? err.status : undefined)
