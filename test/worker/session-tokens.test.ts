import { describe, expect, it } from 'vitest'
/** Inside workerd: tokens are checked with its WebCrypto (timingSafeEqual is a Workers extension). */
import { signToken, verifyToken } from '../../src/api/session-tokens'

const now = Date.parse('2026-11-25T12:00:00Z')
const claims = { sessionId: 'ses_0123456789abcdefghjk', tenant: 't_alpha', exp: now / 1000 + 900 }
const keys = new Map([['t_alpha', 'key-alpha'], ['t_beta', 'key-beta']])

describe('session tokens', () => {
  it('verify only under the key of the tenant they name, so removing that key revokes them', async () => {
    const token = await signToken(claims, 'key-alpha')
    expect(await verifyToken(token, async (t) => keys.get(t), now)).toEqual(claims)
    // The key is gone from API_KEYS: nothing verifies the token any more.
    expect(await verifyToken(token, async () => undefined, now)).toBeUndefined()
    // Signed by another tenant's key, it proves nothing about the tenant it names.
    expect(await verifyToken(await signToken(claims, 'key-beta'), async (t) => keys.get(t), now)).toBeUndefined()
  })

  it('expire, and may not claim more than a day', async () => {
    const token = await signToken(claims, 'key-alpha')
    expect(await verifyToken(token, async (t) => keys.get(t), now + 900_000)).toBeUndefined()
    const stretched = await signToken({ ...claims, exp: now / 1000 + 86_400 + 60 }, 'key-alpha')
    expect(await verifyToken(stretched, async (t) => keys.get(t), now)).toBeUndefined()
  })

  it('of the terminal scope keep it, and may not claim more than an hour', async () => {
    const terminal = { ...claims, scope: 'terminal' as const, exp: now / 1000 + 3_600 }
    expect(await verifyToken(await signToken(terminal, 'key-alpha'), async (t) => keys.get(t), now)).toEqual(terminal)
    const stretched = await signToken({ ...terminal, exp: now / 1000 + 3_600 + 60 }, 'key-alpha')
    expect(await verifyToken(stretched, async (t) => keys.get(t), now)).toBeUndefined()
  })

  it('of the preview scope keep it and their port, and may not claim more than a day', async () => {
    const preview = { ...claims, scope: 'preview' as const, port: 5173, exp: now / 1000 + 86_400 }
    expect(await verifyToken(await signToken(preview, 'key-alpha'), async (t) => keys.get(t), now)).toEqual(preview)
    const stretched = await signToken({ ...preview, exp: now / 1000 + 86_400 + 60 }, 'key-alpha')
    expect(await verifyToken(stretched, async (t) => keys.get(t), now)).toBeUndefined()
  })
})
