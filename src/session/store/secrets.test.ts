import { describe, expect, it } from 'vitest'
import { openSecrets, sealSecrets } from './secrets'

const KEY = 'a-random-secrets-key-of-at-least-32-chars'

describe('session secrets at rest', () => {
  it('are sealed, and open to what the session brought', async () => {
    const secrets = { env: { API_TOKEN: 'canary-env' }, repoToken: 'canary-repo-token' }
    const stored = await sealSecrets(KEY, secrets)
    expect(stored).toMatch(/^v1\./)
    expect(stored).not.toContain('canary')
    expect(await openSecrets(KEY, stored)).toEqual(secrets)
  })

  it('store nothing when there is nothing to keep', async () => {
    expect(await sealSecrets(undefined, {})).toBeNull()
    expect(await sealSecrets(undefined, { env: {} })).toBeNull()
    expect(await openSecrets(undefined, null)).toEqual({})
  })

  it('need a key to be kept', async () => {
    await expect(sealSecrets(undefined, { repoToken: 't' })).rejects.toThrow(/SECRETS_KEY/)
  })

  it('read rows written before sealing as the plain environment they hold', async () => {
    expect(await openSecrets(undefined, '{"A":"b"}')).toEqual({ env: { A: 'b' } })
  })
})
