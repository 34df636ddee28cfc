/**
 * Short-lived tokens that open one session to a browser that cannot send headers (EventSource).
 * A token is `<payload>.<signature>`: the payload names the session, its tenant and an expiry,
 * signed with HMAC-SHA256 under the API key that asked for it. No secret beyond the keys is
 * needed, and removing a key from API_KEYS revokes its tokens.
 */

export type TokenClaims = { sessionId: string; tenant: string; exp: number }

export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60
export const MAX_TOKEN_TTL_SECONDS = 24 * 60 * 60

const encoder = new TextEncoder()

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array {
  const b64 = text.replaceAll('-', '+').replaceAll('_', '/')
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))
}

async function hmac(key: string, data: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', encoder.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, encoder.encode(data)))
}

export async function signToken(claims: TokenClaims, apiKey: string): Promise<string> {
  const payload = base64url(encoder.encode(JSON.stringify(claims)))
  return `${payload}.${base64url(await hmac(apiKey, payload))}`
}

/** The claims of a token signed by one of `apiKeys` and not yet expired, or nothing. */
export async function verifyToken(token: string, apiKeys: string[], now = Date.now()): Promise<TokenClaims | undefined> {
  const [payload, signature] = token.split('.')
  if (!payload || !signature) return undefined
  let given: Uint8Array
  let claims: TokenClaims
  try {
    given = fromBase64url(signature)
    claims = JSON.parse(new TextDecoder().decode(fromBase64url(payload))) as TokenClaims
  } catch {
    return undefined
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return undefined
  for (const key of apiKeys) {
    const expected = await hmac(key, payload)
    if (expected.byteLength === given.byteLength && crypto.subtle.timingSafeEqual(expected, given)) return claims
  }
  return undefined
}
