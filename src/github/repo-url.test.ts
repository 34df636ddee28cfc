import { describe, expect, it } from 'vitest'
import { githubRepoOf } from './repo-url'

describe('githubRepoOf', () => {
  it('reads github.com URLs in their usual forms', () => {
    for (const url of ['https://github.com/acme/widgets', 'https://github.com/acme/widgets.git', 'git@github.com:acme/widgets.git', 'ssh://git@github.com/acme/widgets']) {
      expect(githubRepoOf(url)).toEqual({ owner: 'acme', repo: 'widgets' })
    }
  })

  it("takes the host of GITHUB_API_URL as GitHub's too", () => {
    expect(githubRepoOf('http://127.0.0.1:4000/acme/w.git', 'http://127.0.0.1:4000')).toEqual({ owner: 'acme', repo: 'w' })
    expect(githubRepoOf('https://ghe.example.com/a/b', 'https://ghe.example.com/api/v3')).toEqual({ owner: 'a', repo: 'b' })
    expect(githubRepoOf('http://127.0.0.1:4001/acme/w.git', 'http://127.0.0.1:4000')).toBeUndefined()
  })

  it('refuses other hosts, schemes and paths', () => {
    for (const url of ['https://gitlab.com/a/b', 'file:///tmp/a/b', '/tmp/repo', 'https://github.com/a', 'https://github.com/a/b/c', 'https://github.com/a/..', 'https://github.com/a/b?x=1']) {
      expect(githubRepoOf(url)).toBeUndefined()
    }
  })
})
