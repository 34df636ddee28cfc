/**
 * What passes between a browser and a sandbox's port through a preview. A preview page is the
 * tenant's (or its agent's) code served from the API's own origin, so it is kept from that
 * origin: it runs as an opaque origin (CSP sandbox), so its scripts reach neither the
 * playground's storage nor the API as the origin; it gets no cookie and sets none (another
 * preview on the same origin would share them); its URL, which is its credential, is sent to no
 * one as a Referer.
 */

/** Request headers that are the browser's own or the platform's, not the sandbox's to see. */
const DROPPED_REQUEST = /^(authorization|cookie|host|cf-.*|x-forwarded-.*|x-real-ip)$/i

/** What the sandbox's server may not set on the API's origin. */
const DROPPED_RESPONSE = /^(set-cookie|content-security-policy|content-security-policy-report-only|strict-transport-security|www-authenticate)$/i

/** Scripts, forms, pop-ups and downloads work; the page's origin is opaque. */
export const PREVIEW_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads'

/** The browser's headers for the sandbox's server, with the provider's own (`access`: E2B's traffic token) set last. */
export function previewRequestHeaders(given: Headers, access: Record<string, string>): Headers {
  const headers = new Headers()
  for (const [name, value] of given) if (!DROPPED_REQUEST.test(name)) headers.set(name, value)
  for (const [name, value] of Object.entries(access)) headers.set(name, value)
  return headers
}

/**
 * The server's answer for the browser: a redirect to a path of the server's stays under the
 * preview's prefix (`/preview/<token>`), and the page is kept from the origin (see above).
 */
export function previewResponseHeaders(given: Headers, prefix: string): Headers {
  const headers = new Headers()
  for (const [name, value] of given) if (!DROPPED_RESPONSE.test(name)) headers.append(name, value)
  const location = given.get('location')
  if (location?.startsWith('/') && !location.startsWith('//')) headers.set('location', `${prefix}${location}`)
  headers.set('content-security-policy', PREVIEW_CSP)
  headers.set('referrer-policy', 'no-referrer')
  headers.set('x-robots-tag', 'noindex')
  return headers
}
