import { describe, expect, it } from 'vitest'
import { callbackUrlProblem } from './callback-url'

describe('callbackUrlProblem', () => {
  const cases: [string, boolean, string | undefined][] = [
    ['https://hooks.example.com/run', false, undefined],
    ['https://hooks.example.com:8443/run?x=1', false, undefined],
    ['https://8.8.8.8/run', false, undefined],
    ['https://[2001:db8::1]/run', false, undefined],
    ['http://hooks.example.com/run', false, 'must be https'],
    ['http://hooks.example.com/run', true, 'http is allowed to loopback only'],
    ['http://10.0.0.1/run', true, 'http is allowed to loopback only'],
    ['http://127.0.0.1:9000/run', true, undefined],
    ['http://[::1]:9000/run', true, undefined],
    ['http://localhost:9000/run', true, undefined],
    ['http://127.0.0.1:9000/run', false, 'must be https'],
    ['file:///etc/passwd', false, 'must be https'],
    ['file:///etc/passwd', true, 'must be https'],
    ['ftp://example.com/x', true, 'must be https'],
    ['gopher://example.com/x', false, 'must be https'],
    ['https://user:pass@example.com/x', false, 'must not hold credentials'],
    ['https://user@example.com/x', true, 'must not hold credentials'],
    ['not a url', false, 'not a URL'],
    ...[
      'https://127.0.0.1/x',
      'https://127.1.2.3/x',
      'https://2130706433/x', // 127.0.0.1 as a number
      'https://0x7f.1/x',
      'https://10.1.2.3/x',
      'https://172.16.0.1/x',
      'https://172.31.255.255/x',
      'https://192.168.1.1/x',
      'https://169.254.169.254/latest/meta-data',
      'https://0.0.0.0/x',
      'https://localhost/x',
      'https://LOCALHOST./x',
      'https://api.localhost/x',
      'https://[::1]/x',
      'https://[::]/x',
      'https://[fc00::1]/x',
      'https://[fd12:3456::1]/x',
      'https://[fe80::1]/x',
      'https://[febf::1]/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://[::ffff:10.0.0.1]/x',
    ].map((u): [string, boolean, string | undefined] => [u, false, 'must not be a loopback, private or link-local address']),
    ['https://172.32.0.1/x', false, undefined],
    ['https://172.15.0.1/x', false, undefined],
    ['https://[fec0::1]/x', false, undefined],
    ['https://192.168.1.1/x', true, undefined],
    ['https://localhost/x', true, undefined],
  ]

  it.each(cases)('%s (local allowed: %s) → %s', (url, allowLocal, problem) => {
    expect(callbackUrlProblem(url, allowLocal)).toBe(problem)
  })
})
