import { poolStub, type DurableObjectBindings } from '../durable-objects'
import { MIN_SECRETS_KEY_LENGTH } from '../lib/sealed'

/**
 * The key gateway tokens are signed with (see token.ts). It is derived from SECRETS_KEY when the
 * deployment has one; a deployment without it still needs gateway tokens, so then the warm pool's
 * object keeps a random one for the deployment (`fallback`), asked once per isolate.
 */

/** Keeps this key apart from what else SECRETS_KEY keys (sealed values use HKDF with their own info). */
const PURPOSE = 'opencode-sandbox-worker gateway token MAC v1'

const encoder = new TextEncoder()

const derived = new Map<string, Promise<CryptoKey>>()

async function derive(keyText: string): Promise<CryptoKey> {
  const root = await crypto.subtle.importKey('raw', encoder.encode(keyText), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const bytes = await crypto.subtle.sign('HMAC', root, encoder.encode(PURPOSE))
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

let fallbackText: Promise<string> | undefined

/** The token key: from `secretsKey` when it is one, else from the deployment's kept random key. */
export function gatewayTokenKey(secretsKey: string | undefined, fallback: () => Promise<string>): Promise<CryptoKey> {
  if (secretsKey && secretsKey.length >= MIN_SECRETS_KEY_LENGTH) return keyFor(secretsKey)
  fallbackText ??= fallback().catch((err: unknown) => {
    fallbackText = undefined
    throw err
  })
  return fallbackText.then(keyFor)
}

function keyFor(text: string): Promise<CryptoKey> {
  let key = derived.get(text)
  if (!key) {
    key = derive(text)
    derived.set(text, key)
  }
  return key
}

/** The token key as the Worker and the session objects find it: the pool's own object asks itself instead. */
export const deploymentTokenKey = (env: Pick<DurableObjectBindings, 'POOL'> & { SECRETS_KEY?: string }): Promise<CryptoKey> =>
  gatewayTokenKey(env.SECRETS_KEY, () => poolStub(env).gatewayKeyText())
