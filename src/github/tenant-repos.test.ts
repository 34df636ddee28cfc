import { describe, expect, it } from 'vitest'
import { isGranted, parseTenantRepos, repoOwner } from './tenant-repos'

const A = `t_${'a'.repeat(32)}`
const B = `t_${'b'.repeat(32)}`
const repo = (slug: string) => {
  const [owner, name] = slug.split('/') as [string, string]
  return { owner, repo: name }
}

describe('GITHUB_TENANT_REPOS', () => {
  it('grants nothing when unset', () => {
    expect(parseTenantRepos(undefined)).toEqual({ grants: [] })
    expect(parseTenantRepos(' ')).toEqual({ grants: [] })
    expect(isGranted([], A, repo('acme/widgets'))).toBe(false)
  })

  it.each([
    ['not JSON', '{"*": [acme/*]}', 'GITHUB_TENANT_REPOS is not valid JSON'],
    ['a list', '["acme/*"]', /^GITHUB_TENANT_REPOS is not valid: \(the mapping\): /],
    ['an API key, not a tenant id', '{"dev-key": ["acme/*"]}', 'GITHUB_TENANT_REPOS is not valid: (a key that is not a tenant id): expected a tenant id (t_ and 32 hex digits) or "*", never an API key itself'],
    ['a pattern without an owner', `{"${A}": ["widgets"]}`, new RegExp(`^GITHUB_TENANT_REPOS is not valid: ${A}.0: `)],
    ['a wildcard owner', `{"${A}": ["*/*"]}`, new RegExp(`^GITHUB_TENANT_REPOS is not valid: ${A}.0: `)],
    ['a pattern that is not a list', `{"${A}": "acme/*"}`, new RegExp(`^GITHUB_TENANT_REPOS is not valid: ${A}: `)],
  ])('grants nothing and says why for %s', (_, text, error) => {
    const parsed = parseTenantRepos(text)
    expect(parsed.grants).toEqual([])
    expect(parsed.error).toMatch(error)
    expect(parsed.error).not.toContain('dev-key')
  })

  it.each([
    [{ [A]: ['acme/widgets'] }, A, 'acme/widgets', true],
    [{ [A]: ['acme/widgets'] }, A, 'ACME/Widgets', true],
    [{ [A]: ['acme/widgets'] }, A, 'acme/api', false],
    [{ [A]: ['acme/widgets'] }, B, 'acme/widgets', false],
    [{ [A]: ['acme/*'] }, A, 'acme/api', true],
    [{ [A]: ['acme/*'] }, A, 'acmeco/api', false],
    [{ '*': ['acme/*'] }, B, 'acme/api', true],
    [{ '*': ['acme/*'], [B]: ['beta/tools'] }, A, 'beta/tools', false],
  ])('%j grants %s %s: %s', (mapping, tenant, slug, granted) => {
    const { grants, error } = parseTenantRepos(JSON.stringify(mapping))
    expect(error).toBeUndefined()
    expect(isGranted(grants, tenant, repo(slug))).toBe(granted)
  })

  it("names the owner of a repository's runs: the first named tenant, or the one key of a grant to every key", () => {
    const { grants } = parseTenantRepos(JSON.stringify({ '*': ['acme/*'], [B]: ['acme/api'], [A]: ['acme/*'] }))
    expect(repoOwner(grants, repo('acme/api'), [A, B])).toEqual({ tenant: B })
    expect(repoOwner(grants, repo('acme/widgets'), [A, B])).toEqual({ tenant: A })
    // B's key is gone: its grant owns nothing.
    expect(repoOwner(grants, repo('acme/api'), [A])).toEqual({ tenant: A })
    expect(repoOwner(grants, repo('other/thing'), [A, B])).toEqual({ ignored: 'other/thing belongs to no tenant (GITHUB_TENANT_REPOS)' })

    const everyKey = parseTenantRepos('{"*": ["acme/*"]}').grants
    expect(repoOwner(everyKey, repo('acme/api'), [A])).toEqual({ tenant: A })
    expect(repoOwner(everyKey, repo('acme/api'), [A, B])).toEqual({ ignored: expect.stringContaining('name the tenant that owns its runs') })
  })
})
