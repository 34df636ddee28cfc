import { describe, expect, it } from 'vitest'
import { urlHasCredentials } from './fields'

describe('repository URLs with credentials', () => {
  it.each([
    ['https://user:pass@github.com/o/r.git', true],
    ['https://ghp_token@github.com/o/r.git', true],
    ['http://a@b@127.0.0.1/r.git', true],
    ['https://tok\\@github.com/o/r.git', true],
    ['git://user@example.com/r.git', true],
    ['file://user@host/r', true],
    ['ssh://git:secret@github.com/o/r.git', true],
    ['ssh://git@github.com/o/r.git', false],
    ['ssh://github.com:22/o/r.git', false],
    ['git@github.com:o/r.git', false],
    ['https://github.com/o/r.git', false],
    ['https://github.com/o/r.git?x=a@b', false],
    ['/srv/repos/r', false],
  ])('%s -> %s', (url, expected) => {
    expect(urlHasCredentials(url)).toBe(expected)
  })
})
