import { describe, expect, it } from 'vitest'
import { shellQuote } from './provider'
import { cloneCommand } from './provision'

describe('cloneCommand', () => {
  it('quotes every value and ends options before the URL', () => {
    expect(cloneCommand({ url: "/tmp/it's" }, '/w')).toBe(`git clone --quiet -- '/tmp/it'\\''s' '/w'`)
    expect(cloneCommand({ url: 'https://x/r.git', ref: 'v1.2' }, '/w')).toBe(
      `git clone --quiet --no-checkout -- 'https://x/r.git' '/w' && git -C '/w' checkout --quiet 'v1.2' --`,
    )
  })

  it('quotes for a POSIX shell', () => {
    expect(shellQuote(`a'b $(x)`)).toBe(`'a'\\''b $(x)'`)
  })
})
