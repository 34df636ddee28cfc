import { randomSecret, sha256Hex } from '../lib/ids'

/**
 * A gateway token: `<owner>.<secret>.<mac>`, the key a sandbox's opencode uses for every model
 * provider. The owner is the session it belongs to, or a warm sandbox (`wrm_…`) whose session is
 * known once one takes it; only a digest of the secret is stored, by that owner. The MAC (under
 * the deployment's token key, see token-key.ts) lets the Worker refuse a made-up token with one
 * HMAC, before it names a Durable Object: a session's object is never created by a stranger.
 */
export type GatewayToken = { token: string; owner: string; digest: string }

const TOKEN = /^((?:ses|wrm)_[0-9a-z]{20})\.([0-9a-f]{48})\.([0-9a-f]{64})$/

const encoder = new TextEncoder()

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('')

export async function newGatewayToken(owner: string, macKey: CryptoKey): Promise<GatewayToken> {
  const secret = randomSecret(24)
  const mac = hex(await crypto.subtle.sign('HMAC', macKey, encoder.encode(`${owner}.${secret}`)))
  return { token: `${owner}.${secret}.${mac}`, owner, digest: await sha256Hex(secret) }
}

/** The owner and the digest of the secret of a well-formed token with a good MAC; anything else is no token. */
export async function readGatewayToken(token: string | undefined, macKey: CryptoKey): Promise<{ owner: string; digest: string } | undefined> {
  const m = TOKEN.exec(token ?? '')
  if (!m) return undefined
  const [, owner, secret, mac] = m as unknown as [string, string, string, string]
  const given = Uint8Array.from(mac.match(/../g)!, (pair) => parseInt(pair, 16))
  if (!(await crypto.subtle.verify('HMAC', macKey, given, encoder.encode(`${owner}.${secret}`)))) return undefined
  return { owner, digest: await sha256Hex(secret) }
}
