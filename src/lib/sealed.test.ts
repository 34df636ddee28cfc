import { describe, expect, it } from 'vitest'
import { openBytes, openJson, sealBytes, sealJson, SecretsKeyError } from './sealed'

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

describe('sealed objects', () => {
  const plain = new TextEncoder().encode('diff --git a/canary.txt b/canary.txt\n+plain-canary\n')

  it('open to the bytes sealed, under the same key and name', async () => {
    const sealed = await sealBytes(KEY, 'ses_1/1/workspace', plain)
    expect(await openBytes(KEY, 'ses_1/1/workspace', sealed)).toEqual(plain)
  })

  it('show nothing of the bytes and differ every time', async () => {
    const a = await sealBytes(KEY, 'n', plain)
    const b = await sealBytes(KEY, 'n', plain)
    expect(a).not.toEqual(b)
    expect(new TextDecoder().decode(a)).not.toContain('plain-canary')
  })

  it('do not open under another key, another name, or once changed', async () => {
    const sealed = await sealBytes(KEY, 'ses_1/1/workspace', plain)
    await expect(openBytes(OTHER_KEY, 'ses_1/1/workspace', sealed)).rejects.toThrow(/does not open/)
    await expect(openBytes(KEY, 'ses_2/1/workspace', sealed)).rejects.toThrow(/does not open/)
    const changed = sealed.slice()
    changed[20] = changed[20]! ^ 1
    await expect(openBytes(KEY, 'ses_1/1/workspace', changed)).rejects.toThrow(/does not open/)
    await expect(sealBytes(undefined, 'n', plain)).rejects.toThrow(SecretsKeyError)
  })

  it('are sealed under a key of their own: a sealed value of the same key is not one', async () => {
    const value = await sealJson(KEY, 'x')
    await expect(openBytes(KEY, 'n', new TextEncoder().encode(value))).rejects.toThrow(/not a sealed object|does not open/)
  })
})
