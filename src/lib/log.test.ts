import { describe, expect, it } from 'vitest'
import { requestIdFrom, tenantPrefix } from './log'

describe('tenantPrefix', () => {
  it('keeps the first 8 characters after t_', () => {
    expect(tenantPrefix('t_0123456789abcdef0123456789abcdef')).toBe('01234567')
  })
})

describe('requestIdFrom', () => {
  it("takes Cloudflare's ray id", () => {
    expect(requestIdFrom('8a1b2c3d4e5f6789-LHR')).toBe('8a1b2c3d4e5f6789-LHR')
  })

  it('makes a fresh id when there is none, or when it does not look like one', () => {
    for (const ray of [undefined, '', 'a b', '"}\n{"level":"info"', 'x'.repeat(65)]) {
      expect(requestIdFrom(ray)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    }
  })
})
