import { describe, expect, it } from 'vitest'
import { hostName, isAllowedHost } from './host'

describe('Host header checks', () => {
  it('take the host name without its port', () => {
    expect(hostName('LocalHost:8787')).toBe('localhost')
    expect(hostName('127.0.0.1')).toBe('127.0.0.1')
    expect(hostName('[::1]:8787')).toBe('[::1]')
  })

  it('allow only the listed names, whatever the port', () => {
    const allowed = 'localhost, 127.0.0.1'
    expect(isAllowedHost('localhost:8787', allowed)).toBe(true)
    expect(isAllowedHost('127.0.0.1:1', allowed)).toBe(true)
    expect(isAllowedHost('evil.example:8787', allowed)).toBe(false)
    expect(isAllowedHost('localhost.evil.example', allowed)).toBe(false)
    expect(isAllowedHost('127.0.0.1.nip.io', allowed)).toBe(false)
    expect(isAllowedHost('', allowed)).toBe(false)
    expect(isAllowedHost(undefined, allowed)).toBe(false)
  })
})
