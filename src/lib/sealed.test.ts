import { describe, expect, it } from 'vitest'
import { openJson, sealJson, SecretsKeyError } from './sealed'

const KEY = 'q3V1bXJ0c2VjcmV0c2tleWZvcnRlc3RzMDEyMzQ1Njc=' // the shape of `openssl rand -base64 32`
const OTHER_KEY = 'another-random-key-of-at-least-32-characters'

describe('sealed values', () => {
  it('open to what was sealed, under the same key', async () => {
    const value = { env: { API_TOKEN: 'tok-123' }, repoToken: 'ghp_x', unicode: 'ü😀' }
    const sealed = await sealJson(KEY, value)
    expect(sealed).toMatch(/^v1\.[\w-]{16}\.[\w-]+$/)
    expect(await openJson(KEY, sealed)).toEqual(value)
    expect(await openJson(OTHER_KEY, await sealJson(OTHER_KEY, 'x'))).toBe('x')
  })

  it('show nothing of the value and differ every time (a fresh IV each)', async () => {
    const a = await sealJson(KEY, { secret: 'plain-canary' })
    const b = await sealJson(KEY, { secret: 'plain-canary' })
    expect(a).not.toBe(b)
    expect(a.split('.')[1]).not.toBe(b.split('.')[1])
    expect(atob(a.split('.')[2]!.replaceAll('-', '+').replaceAll('_', '/'))).not.toContain('plain-canary')
  })

  it('do not open under another key, nor once changed', async () => {
    const sealed = await sealJson(KEY, { a: 1 })
    await expect(openJson(OTHER_KEY, sealed)).rejects.toThrow(/does not open/)
    const [v, iv, data] = sealed.split('.') as [string, string, string]
    const flipped = data.slice(0, 5) + (data[5] === 'A' ? 'B' : 'A') + data.slice(6)
    await expect(openJson(KEY, `${v}.${iv}.${flipped}`)).rejects.toThrow(/does not open/)
    await expect(openJson(KEY, `v2.${iv}.${data}`)).rejects.toThrow(/not a sealed value/)
    await expect(openJson(KEY, '{"a":1}')).rejects.toThrow(/not a sealed value/)
  })

  it('seal large values', async () => {
    const big = 'x'.repeat(600_000)
    expect(await openJson(KEY, await sealJson(KEY, big))).toBe(big)
  })

  it('refuse a key that is missing or too short', async () => {
    await expect(sealJson('', 1)).rejects.toBeInstanceOf(SecretsKeyError)
    await expect(sealJson('short-key', 1)).rejects.toThrow(/at least 32/)
    await expect(openJson('x'.repeat(31), await sealJson(KEY, 1))).rejects.toBeInstanceOf(SecretsKeyError)
  })
})
