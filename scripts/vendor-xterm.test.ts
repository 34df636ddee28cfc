import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { VENDORED_XTERM } from './vendor-xterm'

describe('the playground’s xterm.js', () => {
  it.each(VENDORED_XTERM)('is the installed package’s file: %s', (from, to) => {
    expect(readFileSync(to).equals(readFileSync(from))).toBe(true)
  })
})
