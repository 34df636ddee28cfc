/**
 * Values sealed at rest under the deployment's SECRETS_KEY: AES-GCM-256 with a fresh random
 * 96-bit IV per value, WebCrypto only (the Worker and Node run the same code). A sealed value is
 * `v1.<iv>.<ciphertext>` in base64url; the version lets another scheme come later beside it.
 *
 * SECRETS_KEY is any text of at least 32 characters; the AES key is derived from it with
 * HKDF-SHA256, so a random base64 key (`openssl rand -base64 32`) and a long random string work
 * alike. HKDF does not stretch, so the text must be random, not a password a person chose.
 */

export const MIN_SECRETS_KEY_LENGTH = 32

const VERSION = 'v1'
const IV_BYTES = 12
const encoder = new TextEncoder()
/** Fixed and public: HKDF's salt and info only separate this use of the key from any other. */
const HKDF_SALT = encoder.encode('opencode-sandbox-worker')
const HKDF_INFO = 'sealed values v1, AES-GCM-256'
/** The key for sealed byte objects (checkpoints), apart from the values' key: one never opens the other's. */
const BYTES_HKDF_INFO = 'sealed objects v1, AES-GCM-256'

export class SecretsKeyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SecretsKeyError'
  }
}

/** Derived keys by use and key text: derivation is cheap, but every session reads its secrets more than once. */
const derived = new Map<string, Promise<CryptoKey>>()

/** The AES key for SECRETS_KEY's text; throws SecretsKeyError when it is missing or too short to be one. */
export function secretsKey(keyText: string | undefined): Promise<CryptoKey> {
  return derivedKey(keyText, HKDF_INFO)
}

function derivedKey(keyText: string | undefined, info: string): Promise<CryptoKey> {
  if (!keyText || keyText.length < MIN_SECRETS_KEY_LENGTH) {
    return Promise.reject(new SecretsKeyError(`SECRETS_KEY must be set to at least ${MIN_SECRETS_KEY_LENGTH} random characters`))
  }
  let key = derived.get(`${info}\n${keyText}`)
  if (!key) {
    key = crypto.subtle
      .importKey('raw', encoder.encode(keyText), 'HKDF', false, ['deriveKey'])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: HKDF_SALT, info: encoder.encode(info) },
          material,
          { name: 'AES-GCM', length: 256 },
          false,
          ['encrypt', 'decrypt'],
        ),
      )
    derived.set(`${info}\n${keyText}`, key)
  }
  return key
}

export async function sealJson(keyText: string, value: unknown): Promise<string> {
  const key = await secretsKey(keyText)
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const plain = encoder.encode(JSON.stringify(value))
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, plain))
  return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(sealed)}`
}

/** Throws when the value was not sealed under this key, or was changed since. */
export async function openJson<T>(keyText: string, sealed: string): Promise<T> {
  const [version, iv, data, ...rest] = sealed.split('.')
  if (version !== VERSION || !iv || !data || rest.length > 0) throw new Error('not a sealed value')
  const key = await secretsKey(keyText)
  let plain: ArrayBuffer
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64Url(iv) }, key, fromBase64Url(data))
  } catch {
    throw new Error('the sealed value does not open with this SECRETS_KEY')
  }
  return JSON.parse(new TextDecoder().decode(plain)) as T
}

/** The first byte of a sealed object: its scheme, so that another may come later beside it. */
const BYTES_VERSION = 1

/**
 * Bytes sealed under SECRETS_KEY (a key of their own, derived with another HKDF info), bound to
 * `name` (AES-GCM's additional data: an object moved to another name does not open):
 * `[version][iv, 12 bytes][ciphertext and tag]`.
 */
export async function sealBytes(keyText: string | undefined, name: string, plain: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const key = await derivedKey(keyText, BYTES_HKDF_INFO)
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES))
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(name) }, key, plain))
  const out = new Uint8Array(1 + IV_BYTES + sealed.length)
  out[0] = BYTES_VERSION
  out.set(iv, 1)
  out.set(sealed, 1 + IV_BYTES)
  return out
}

/** Throws when the bytes were not sealed under this key and name, or were changed since. */
export async function openBytes(keyText: string | undefined, name: string, sealed: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  if (sealed[0] !== BYTES_VERSION || sealed.length < 1 + IV_BYTES) throw new Error('not a sealed object')
  const key = await derivedKey(keyText, BYTES_HKDF_INFO)
  try {
    const iv = sealed.slice(1, 1 + IV_BYTES)
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(name) }, key, sealed.slice(1 + IV_BYTES)))
  } catch {
    throw new Error('the sealed object does not open with this SECRETS_KEY under this name')
  }
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  // In slices: spreading a large array into one call overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[\w-]*$/.test(text)) throw new Error('not a sealed value')
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
