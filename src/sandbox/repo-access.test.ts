import { describe, expect, it } from 'vitest'
import { readable, repoReadCheck } from './repo-access'

describe('repoReadCheck', () => {
  it('asks nothing when neither the pool nor the session used a credential', () => {
    expect(repoReadCheck('https://github.com/o/r', { pooledWithCredential: false })).toBeNull()
  })

  it('asks anonymously when the pool cloned with a credential and the session brings none', () => {
    expect(repoReadCheck('https://github.com/o/r.git', { pooledWithCredential: true })).toEqual({
      url: 'https://github.com/o/r.git/info/refs?service=git-upload-pack',
      headers: { 'user-agent': expect.stringMatching(/^git\//) },
    })
  })

  it("asks with the session's token as git's user x-access-token, on a public repository too", () => {
    for (const pooledWithCredential of [true, false]) {
      const check = repoReadCheck('http://127.0.0.1:9000/o/r/', { pooledWithCredential, token: 'tok-en_1' })
      expect(check?.url).toBe('http://127.0.0.1:9000/o/r/info/refs?service=git-upload-pack')
      expect(atob(check!.headers.authorization!.replace(/^Basic /, ''))).toBe('x-access-token:tok-en_1')
    }
  })

  it('asks nothing for repositories git reaches without http(s) credentials', () => {
    for (const url of ['git@github.com:o/r.git', 'ssh://git@host/o/r', 'file:///srv/r.git', '/srv/r.git']) {
      expect(repoReadCheck(url, { pooledWithCredential: true, token: 't' })).toBeNull()
    }
  })
})

describe('readable', () => {
  it("takes only the host's ref advertisement as a yes", () => {
    expect(readable(200, 'application/x-git-upload-pack-advertisement')).toBe(true)
    expect(readable(200, 'Application/x-git-upload-pack-advertisement; charset=binary')).toBe(true)
    expect(readable(401, 'application/x-git-upload-pack-advertisement')).toBe(false)
    expect(readable(404, null)).toBe(false)
    expect(readable(302, null)).toBe(false)
    expect(readable(200, 'text/html; charset=utf-8')).toBe(false)
    expect(readable(200, 'text/plain')).toBe(false)
  })
})
