import { randomSecret, sha256Hex } from '../lib/ids'

/**
 * A gateway token: `<owner>.<secret>`, the key a sandbox's opencode uses for every model
 * provider. The owner is the session it belongs to, or a warm sandbox (`wrm_…`) whose session is
 * known once one takes it; only a digest of the secret is stored, by that owner.
 */
export type GatewayToken = { token: string; owner: string; digest: string }

const TOKEN = /^((?:ses|wrm)_[0-9a-z]{20})\.([0-9a-f]{48})$/

export async function newGatewayToken(owner: string): Promise<GatewayToken> {
  const secret = randomSecret(24)
  return { token: `${owner}.${secret}`, owner, digest: await sha256Hex(secret) }
}

/** The owner and the digest of the secret of a well-formed token; anything else is no token. */
export async function readGatewayToken(token: string | undefined): Promise<{ owner: string; digest: string } | undefined> {
  const m = TOKEN.exec(token ?? '')
  if (!m) return undefined
  return { owner: m[1]!, digest: await sha256Hex(m[2]!) }
}
