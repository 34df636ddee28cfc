/**
 * HMAC-SHA256 signatures as GitHub sends them and as our callbacks and webhooks carry them:
 * `sha256=<hex>` over the raw body.
 */
const encoder = new TextEncoder()

/** Deliveries older (or further in the future) than this are refused as replays. */
export const MAX_SKEW_SECONDS = 5 * 60

async function hmacBytes(secret: string, body: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(body)))
}

export async function signature(secret: string, body: string): Promise<string> {
  const bytes = await hmacBytes(secret, body)
  return `sha256=${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

export async function signatureMatches(secret: string, body: string, header: string | undefined): Promise<boolean> {
  if (!header) return false
  const expected = encoder.encode(await signature(secret, body))
  const given = encoder.encode(header.trim().toLowerCase())
  return expected.byteLength === given.byteLength && crypto.subtle.timingSafeEqual(expected, given)
}

/** A timestamp header (Unix seconds) within MAX_SKEW_SECONDS of now. */
export function freshTimestamp(header: string | undefined, nowMs = Date.now()): boolean {
  if (!header || !/^\d{1,12}$/.test(header.trim())) return false
  return Math.abs(nowMs / 1000 - Number(header)) <= MAX_SKEW_SECONDS
}
