/**
 * A GitHub App's credentials: a JWT signed with the App's private key (RS256, WebCrypto), which
 * GitHub trades for an installation token scoped to the repositories the App is installed on.
 */

const encoder = new TextEncoder()

function base64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === 'string' ? encoder.encode(bytes) : bytes
  let binary = ''
  for (const b of raw) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** A DER length: short form below 128, else the count of length bytes first. */
function derLength(n: number): number[] {
  if (n < 0x80) return [n]
  const bytes: number[] = []
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff)
  return [0x80 | bytes.length, ...bytes]
}

const der = (tag: number, body: Uint8Array) => new Uint8Array([tag, ...derLength(body.length), ...body])

/** AlgorithmIdentifier for rsaEncryption (1.2.840.113549.1.1.1) with NULL parameters. */
const RSA_ALGORITHM = new Uint8Array([0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00])

/**
 * The key as PKCS#8 DER, which is all WebCrypto imports. GitHub hands out PKCS#1 ("BEGIN RSA
 * PRIVATE KEY"): that is wrapped. Newlines may come escaped as `\n`, as a one-line setting holds them.
 */
export function pkcs8Der(pem: string): Uint8Array {
  const text = pem.replace(/\\n/g, '\n')
  const match = /-----BEGIN (RSA )?PRIVATE KEY-----([\s\S]*?)-----END (RSA )?PRIVATE KEY-----/.exec(text)
  if (!match) throw new Error('GITHUB_APP_PRIVATE_KEY is not a PEM private key')
  const body = Uint8Array.from(atob(match[2]!.replace(/\s+/g, '')), (c) => c.charCodeAt(0))
  if (!match[1]) return body
  const version = new Uint8Array([0x02, 0x01, 0x00])
  return der(0x30, new Uint8Array([...version, ...RSA_ALGORITHM, ...der(0x04, body)]))
}

/**
 * The App's JWT: issued a minute in the past (GitHub's advice for clock drift), valid nine
 * minutes (GitHub takes at most ten).
 */
export async function appJwt(appId: string, privateKey: string, nowMs = Date.now()): Promise<string> {
  const key = await crypto.subtle.importKey('pkcs8', pkcs8Der(privateKey), { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign'])
  const now = Math.floor(nowMs / 1000)
  const unsigned = `${base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${base64url(JSON.stringify({ iat: now - 60, exp: now + 9 * 60, iss: appId }))}`
  const signature = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, encoder.encode(unsigned)))
  return `${unsigned}.${base64url(signature)}`
}

/** An installation token is used until five minutes before it expires, so none runs out mid-run step. */
export const TOKEN_MARGIN_MS = 5 * 60_000

export function tokenUsable(expiresAt: string, nowMs = Date.now()): boolean {
  return Date.parse(expiresAt) - TOKEN_MARGIN_MS > nowMs
}
