import { createVerify, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { appJwt, pkcs8Der, tokenUsable } from './app-auth'

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()
const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()

const verify = (jwt: string) => {
  const [head, claims, signature] = jwt.split('.')
  const ok = createVerify('RSA-SHA256').update(`${head}.${claims}`).verify(publicKey, Buffer.from(signature!, 'base64url'))
  return { ok, head: JSON.parse(Buffer.from(head!, 'base64url').toString()), claims: JSON.parse(Buffer.from(claims!, 'base64url').toString()) }
}

describe('appJwt', () => {
  it('signs RS256 with a PKCS#1 key (as GitHub gives it) and a PKCS#8 one', async () => {
    const now = Date.UTC(2026, 0, 1)
    for (const pem of [pkcs1, pkcs8, pkcs1.replace(/\n/g, '\\n')]) {
      const { ok, head, claims } = verify(await appJwt('12345', pem, now))
      expect(ok).toBe(true)
      expect(head).toEqual({ alg: 'RS256', typ: 'JWT' })
      expect(claims).toEqual({ iss: '12345', iat: now / 1000 - 60, exp: now / 1000 + 540 })
    }
  })

  it('wraps PKCS#1 into the PKCS#8 that Node itself writes', () => {
    expect(Buffer.from(pkcs8Der(pkcs1)).equals(Buffer.from(pkcs8Der(pkcs8)))).toBe(true)
  })

  it('refuses what is not a PEM private key', () => {
    expect(() => pkcs8Der('not a key')).toThrow(/not a PEM private key/)
  })
})

describe('tokenUsable', () => {
  it('stops using a token five minutes before it expires', () => {
    const now = Date.UTC(2026, 0, 1, 12)
    expect(tokenUsable(new Date(now + 6 * 60_000).toISOString(), now)).toBe(true)
    expect(tokenUsable(new Date(now + 4 * 60_000).toISOString(), now)).toBe(false)
  })
})
