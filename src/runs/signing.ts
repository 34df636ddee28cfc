/**
 * HMAC-SHA256 signatures, `sha256=<hex>`. GitHub signs the raw body; our webhooks and callbacks
 * sign `<X-Timestamp>.<raw body>`, so a captured request cannot be sent again under a fresh
 * timestamp.
 */
const encoder = new TextEncoder()

/** Deliveries older (or further in the future) than this are refused as replays. */
export const MAX_SKEW_SECONDS = 5 * 60

async function hmacBytes(secret: string, data: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(data)))
}

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')

export async function signature(secret: string, data: string): Promise<string> {
  return `sha256=${hex(await hmacBytes(secret, data))}`
}

/**
 * The key that signs one tenant's callbacks: HMAC-SHA256(CALLBACK_SECRET, tenant id) in hex, the
 * text a receiver uses as its HMAC key. Each tenant holds only its own (GET /v1/tenant), so one
 * tenant cannot sign, nor have the Worker sign, a callback another tenant's receiver accepts.
 */
export async function callbackKey(callbackSecret: string, tenant: string): Promise<string> {
  return hex(await hmacBytes(callbackSecret, tenant))
}

/** What a timestamped signature covers. */
export const timestamped = (timestamp: string, body: string) => `${timestamp}.${body}`

export async function signatureMatches(secret: string, data: string, header: string | undefined): Promise<boolean> {
  return sameSignature(await signature(secret, data), header)
}

/** Slack signs `v0:<X-Slack-Request-Timestamp>:<raw body>` and sends `X-Slack-Signature: v0=<hex>`. */
export async function slackSignatureMatches(secret: string, timestamp: string, body: string, header: string | undefined): Promise<boolean> {
  return sameSignature(`v0=${hex(await hmacBytes(secret, `v0:${timestamp}:${body}`))}`, header)
}

function sameSignature(expectedText: string, header: string | undefined): boolean {
  if (!header) return false
  const expected = encoder.encode(expectedText)
  const given = encoder.encode(header.trim().toLowerCase())
  return expected.byteLength === given.byteLength && crypto.subtle.timingSafeEqual(expected, given)
}

/** A timestamp header (Unix seconds) within MAX_SKEW_SECONDS of now. */
export function freshTimestamp(header: string | undefined, nowMs = Date.now()): boolean {
  if (!header || !/^\d{1,12}$/.test(header)) return false
  return Math.abs(nowMs / 1000 - Number(header)) <= MAX_SKEW_SECONDS
}
