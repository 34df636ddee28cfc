import { describe, expect, it } from 'vitest'
import { shellQuote } from './provider'
import { cloneCommand, credentialLine } from './provision'

describe('cloneCommand', () => {
  it('quotes every value and ends options before the URL', () => {
    const mark = `git -C '/w' update-ref refs/sandbox/base HEAD`
    expect(cloneCommand({ url: "/tmp/it's" }, '/w')).toBe(`git clone --quiet -- '/tmp/it'\\''s' '/w' && ${mark}`)
    expect(cloneCommand({ url: 'https://x/r.git', ref: 'v1.2' }, '/w')).toBe(
      `git clone --quiet --no-checkout -- 'https://x/r.git' '/w' && git -C '/w' checkout --quiet 'v1.2' -- && ${mark}`,
    )
  })

  it('clones with a credentials file named on the command line, then removes it whatever git did', () => {
    expect(cloneCommand({ url: 'https://x/r.git' }, '/w', '/h/.c')).toBe(
      `{ git -c credential.helper= -c 'credential.helper=store --file='\\''/h/.c'\\''' clone --quiet -- 'https://x/r.git' '/w' && git -C '/w' update-ref refs/sandbox/base HEAD; }; status=$?; shred -u -- '/h/.c' 2>/dev/null || rm -f -- '/h/.c'; exit $status`,
    )
  })

  it('writes the token for the repository host only, in the credential store format', () => {
    expect(credentialLine('https://github.com/o/r.git', 'ghp_a/b+c')).toBe('https://x-access-token:ghp_a%2Fb%2Bc@github.com\n')
    expect(credentialLine('http://127.0.0.1:8080/r.git', 't')).toBe('http://x-access-token:t@127.0.0.1:8080\n')
  })

  it('quotes for a POSIX shell', () => {
    expect(shellQuote(`a'b $(x)`)).toBe(`'a'\\''b $(x)'`)
  })
})
