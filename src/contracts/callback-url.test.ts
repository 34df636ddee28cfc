import { describe, expect, it } from 'vitest'
import { callbackUrlProblem, internalAddress } from './callback-url'

const REFUSED = 'must not be a loopback, private, link-local or other special-purpose address'

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
      'https://[::7f00:1]/x',
      'https://100.64.0.1/x',
      'https://[64:ff9b::7f00:1]/x',
      'https://[2002:7f00:1::]/x',
    ].map((u): [string, boolean, string | undefined] => [u, false, REFUSED]),
    ['https://172.32.0.1/x', false, undefined],
    ['https://172.15.0.1/x', false, undefined],
    ['https://[fe7f::1]/x', false, undefined],
    ['https://192.168.1.1/x', true, undefined],
    ['https://localhost/x', true, undefined],
  ]

  it.each(cases)('%s (local allowed: %s) → %s', (url, allowLocal, problem) => {
    expect(callbackUrlProblem(url, allowLocal)).toBe(problem)
  })
})

describe('internalAddress, on hosts as the URL parser writes them', () => {
  // Each host is written as a tenant might, parsed with URL (as fetch parses it), then judged.
  const cases: [string, string | undefined][] = [
    // IPv4 in every spelling the parser takes
    ['127.0.0.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['017700000001', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['0', 'this network'],
    ['0.0.0.0', 'this network'],
    ['10.255.0.1', 'private'],
    ['012.0.0.1', 'private'], // octal 10
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['3232235521', 'private'], // 192.168.0.1
    ['169.254.169.254', 'link-local'],
    ['0xa9fea9fe', 'link-local'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['192.0.0.170', 'IETF protocol assignments'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast, reserved and broadcast'],
    ['255.255.255.255', 'multicast, reserved and broadcast'],
    ['100.63.255.255', undefined],
    ['100.128.0.0', undefined],
    ['172.15.255.255', undefined],
    ['172.32.0.0', undefined],
    ['8.8.8.8', undefined],
    ['134744072', undefined], // 8.8.8.8
    ['223.255.255.255', undefined],
    // names
    ['localhost', 'localhost'],
    ['LOCALHOST.', 'localhost'],
    ['a.b.localhost', 'localhost'],
    ['example.com', undefined],
    ['localhost.example.com', undefined],
    // IPv6, and IPv4 inside IPv6 in every form
    ['[::1]', 'unspecified, loopback or IPv4-compatible'],
    ['[0:0:0:0:0:0:0:1]', 'unspecified, loopback or IPv4-compatible'],
    ['[::]', 'unspecified, loopback or IPv4-compatible'],
    ['[::7f00:1]', 'unspecified, loopback or IPv4-compatible'],
    ['[::127.0.0.1]', 'unspecified, loopback or IPv4-compatible'],
    ['[::8.8.8.8]', 'unspecified, loopback or IPv4-compatible'],
    ['[::ffff:127.0.0.1]', 'IPv4-mapped'],
    ['[::ffff:7f00:1]', 'IPv4-mapped'],
    ['[::ffff:a9fe:a9fe]', 'IPv4-mapped'],
    ['[0:0:0:0:0:ffff:10.0.0.1]', 'IPv4-mapped'],
    ['[::ffff:8.8.8.8]', 'IPv4-mapped'],
    ['[::ffff:0:127.0.0.1]', 'IPv4-translated'],
    ['[64:ff9b::127.0.0.1]', 'NAT64'],
    ['[64:ff9b::7f00:1]', 'NAT64'],
    ['[64:ff9b:1::a00:1]', 'local NAT64'],
    ['[2002:7f00:1::]', '6to4'],
    ['[2002:a9fe:a9fe::1]', '6to4'],
    ['[2001:0:4136:e378:8000:63bf:3fff:fdd2]', 'Teredo'],
    ['[fc00::1]', 'unique local (private)'],
    ['[fdff:ffff::1]', 'unique local (private)'],
    ['[fe80::1]', 'link-local'],
    ['[febf::1]', 'link-local'],
    ['[fec0::1]', 'site-local'],
    ['[ff02::1]', 'multicast'],
    ['[2001:db8::1]', undefined],
    ['[2606:4700:4700::1111]', undefined],
    ['[2001:1::1]', undefined],
    ['[fe7f::1]', undefined],
    ['[64:ff9a::1]', undefined],
  ]

  it.each(cases)('%s → %s', (written, kind) => {
    const host = new URL(`https://${written}/x`).hostname
    expect(internalAddress(host)).toBe(kind)
    expect(callbackUrlProblem(`https://${written}/x`, false)).toBe(kind === undefined ? undefined : REFUSED)
  })
})
