import { z } from 'zod'
import type { GitHubRepo } from './repo-url'

/**
 * Which tenant may use the deployment's GitHub credential (GITHUB_TOKEN or the App) on which
 * repository (GITHUB_TENANT_REPOS). The credential reaches every repository it was given, and a
 * tenant is anyone with an API key: without a grant, a tenant's run would read and push to any
 * of them. So nothing is granted unless the mapping says so; a tenant without a grant brings its
 * own `repo.token`.
 *
 * The mapping is JSON: a tenant id (`t_` and 32 hex digits, the digest the API makes of a key,
 * src/api/middleware.ts) or `"*"` (every key) → `owner/repo` patterns, `owner/*` for all of an
 * owner's repositories. Names compare without regard to case, as GitHub's do.
 */

/** Every key of API_KEYS: a single-team deployment grants its repositories in one line. */
export const EVERY_TENANT = '*'

const NAME = '[A-Za-z0-9_.-]+'
const TENANT_KEY = /^(\*|t_[0-9a-f]{32})$/
const TenantKey = z.string().regex(TENANT_KEY)
const Pattern = z.string().regex(new RegExp(`^${NAME}/(${NAME}|\\*)$`), '"owner/repo" or "owner/*"')
const Mapping = z.record(TenantKey, z.array(Pattern).max(1_000))

/** The grants in the mapping's order: the first that names a repository owns its GitHub-started runs. */
export type TenantRepos = { tenant: string; patterns: string[] }[]

/** The grants, or none and why (the path and rule, never a value) when the text is not such a mapping. */
export function parseTenantRepos(text: string | undefined): { grants: TenantRepos; error?: string } {
  if (!text?.trim()) return { grants: [] }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { grants: [], error: 'GITHUB_TENANT_REPOS is not valid JSON' }
  }
  const parsed = Mapping.safeParse(json)
  if (parsed.success) return { grants: Object.entries(parsed.data).map(([tenant, patterns]) => ({ tenant, patterns })) }
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${where(i.path)}: ${i.code === 'invalid_key' ? KEY_RULE : i.message}`)
  return { grants: [], error: `GITHUB_TENANT_REPOS is not valid: ${issues.join('; ')}` }
}

const KEY_RULE = 'expected a tenant id (t_ and 32 hex digits) or "*", never an API key itself'

/**
 * Where a problem is, for /ready, which anyone may read: a tenant id is a digest of a key and
 * may be named, but a key that is not one may be an API key written there by mistake.
 */
function where(path: PropertyKey[]): string {
  if (path.length === 0) return '(the mapping)'
  const [first, ...rest] = path.map(String)
  return [TENANT_KEY.test(first!) ? first : '(a key that is not a tenant id)', ...rest].join('.')
}

function matches(pattern: string, repo: GitHubRepo): boolean {
  const [owner, name] = pattern.toLowerCase().split('/') as [string, string]
  return owner === repo.owner.toLowerCase() && (name === '*' || name === repo.repo.toLowerCase())
}

const names = (grant: TenantRepos[number], repo: GitHubRepo) => grant.patterns.some((p) => matches(p, repo))

/** Whether `tenant` may have the deployment's GitHub credential used on `repo`. */
export function isGranted(grants: TenantRepos, tenant: string, repo: GitHubRepo): boolean {
  return grants.some((g) => (g.tenant === EVERY_TENANT || g.tenant === tenant) && names(g, repo))
}

/**
 * The tenant that owns runs GitHub starts on `repo`: the first of `tenants` (those of API_KEYS)
 * the mapping names for it. A grant to every key (`*`) makes an owner only when there is one
 * key; otherwise no one tenant is the repository's, and a run nobody can tell whose it is starts
 * nowhere. A tenant whose key is gone owns nothing.
 */
export function repoOwner(grants: TenantRepos, repo: GitHubRepo, tenants: string[]): { tenant: string } | { ignored: string } {
  const slug = `${repo.owner}/${repo.repo}`
  const named = grants.find((g) => g.tenant !== EVERY_TENANT && tenants.includes(g.tenant) && names(g, repo))
  if (named) return { tenant: named.tenant }
  if (grants.some((g) => g.tenant === EVERY_TENANT && names(g, repo))) {
    if (tenants.length === 1) return { tenant: tenants[0]! }
    return { ignored: `${slug} is granted to every key ("*") of several: name the tenant that owns its runs in GITHUB_TENANT_REPOS` }
  }
  return { ignored: `${slug} belongs to no tenant (GITHUB_TENANT_REPOS)` }
}
