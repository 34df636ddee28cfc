import { openJson, sealJson } from '../../lib/sealed'

/**
 * What a session brings that nobody may read back: its secret environment, the token its
 * repository is cloned with, and its own model keys. Stored sealed under SECRETS_KEY in the session's row, apart from
 * its spec, and erased when the session ends.
 */
export type SessionSecrets = {
  env?: Record<string, string>
  repoToken?: string
  /** the session's own model provider keys, for the gateway to use for it alone */
  modelKeys?: Record<string, string>
}

export function hasSecrets(secrets: SessionSecrets): boolean {
  return Object.keys(secrets.env ?? {}).length > 0 || secrets.repoToken !== undefined || Object.keys(secrets.modelKeys ?? {}).length > 0
}

/** The row's value: sealed, or null when there is nothing to keep. */
export async function sealSecrets(keyText: string | undefined, secrets: SessionSecrets): Promise<string | null> {
  return hasSecrets(secrets) ? sealJson(keyText ?? '', secrets) : null
}

export async function openSecrets(keyText: string | undefined, stored: string | null): Promise<SessionSecrets> {
  if (stored === null) return {}
  // Rows written before secrets were sealed hold the environment as plain JSON until they end.
  if (stored.startsWith('{')) return { env: JSON.parse(stored) as Record<string, string> }
  return openJson<SessionSecrets>(keyText ?? '', stored)
}
