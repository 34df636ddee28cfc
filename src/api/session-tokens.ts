import { z } from 'zod'
import { MAX_PREVIEW_TTL_SECONDS, MAX_TERMINAL_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS } from '../contracts'
import { ID_PATTERN } from '../lib/ids'

/**
 * Short-lived tokens that open one session to a browser that cannot send headers (EventSource).
 * A token is `<payload>.<signature>`: the payload names the session, its tenant and an expiry,
 * signed with HMAC-SHA256 under the API key that asked for it. No secret beyond the keys is
 * needed, and removing a key from API_KEYS revokes its tokens.
 */

export const TokenClaims = z
  .object({
    sessionId: z.string().regex(ID_PATTERN),
    tenant: z.string().min(1).max(100),
    exp: z.number().int().positive(),
    /** a terminal token (read-write: a shell); without it, a read-only session token, as tokens were before scopes */
    /** `preview`: opens the session's `port` under /preview/<token>/ and nothing of the API (src/api/previews.ts) */
    scope: z.enum(['terminal', 'preview']).optional(),
    port: z.number().int().min(1).max(65535).optional(),
  })
  .strict()

export type TokenClaims = z.infer<typeof TokenClaims>

export const DEFAULT_TOKEN_TTL_SECONDS = 15 * 60

const encoder = new TextEncoder()

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function fromBase64url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error('not base64url')
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

function readClaims(payload: string): TokenClaims | undefined {
  try {
    const parsed = TokenClaims.safeParse(JSON.parse(new TextDecoder().decode(fromBase64url(payload))))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined
  }
}

/**
 * The claims of a token signed by the key of the tenant it names, not expired, and expiring no
 * later than a token could have been issued for; or nothing. Only that tenant's key is tried:
 * any other key in API_KEYS signing it proves nothing about the tenant it names.
 */
export async function verifyToken(
  token: string,
  keyOfTenant: (tenant: string) => Promise<string | undefined>,
  now = Date.now(),
): Promise<TokenClaims | undefined> {
  const parts = token.split('.')
  if (parts.length !== 2) return undefined
  const [payload, signature] = parts as [string, string]
  const claims = readClaims(payload)
  if (!claims) return undefined
  const nowSeconds = now / 1000
  const maxTtl = claims.scope === 'terminal' ? MAX_TERMINAL_TOKEN_TTL_SECONDS : claims.scope === 'preview' ? MAX_PREVIEW_TTL_SECONDS : MAX_TOKEN_TTL_SECONDS
  if (claims.exp <= nowSeconds || claims.exp > nowSeconds + maxTtl) return undefined
  const key = await keyOfTenant(claims.tenant)
  if (key === undefined) return undefined
  let given: Uint8Array
  try {
    given = fromBase64url(signature)
  } catch {
    return undefined
  }
  const expected = await hmac(key, payload)
  return expected.byteLength === given.byteLength && crypto.subtle.timingSafeEqual(expected, given) ? claims : undefined
}
