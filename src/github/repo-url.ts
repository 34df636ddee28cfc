/** A repository on GitHub, by its owner and name. */
export type GitHubRepo = { owner: string; repo: string }

const NAME = /^[A-Za-z0-9_.-]+$/

/** The API's base URL: GITHUB_API_URL (GitHub Enterprise, a stand-in), else github.com's. */
export const apiBase = (apiUrl: string | undefined) => (apiUrl || 'https://api.github.com').replace(/\/+$/, '')

/**
 * The GitHub repository a clone URL names, when it is on github.com or on the host that serves
 * GITHUB_API_URL (GitHub Enterprise serves git and its API from one host); nothing otherwise.
 */
export function githubRepoOf(url: string, apiUrl?: string): GitHubRepo | undefined {
  const hosts = new Set(['github.com'])
  if (apiUrl) {
    try {
      hosts.add(new URL(apiUrl).host)
    } catch {
      // an unreadable setting adds no host
    }
  }
  let host: string
  let path: string
  const scp = /^git@([^:/]+):(.+)$/.exec(url)
  if (scp) [host, path] = [scp[1]!, scp[2]!]
  else {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return undefined
    }
    if (!['https:', 'http:', 'ssh:'].includes(parsed.protocol) || parsed.search || parsed.hash) return undefined
    ;[host, path] = [parsed.host, parsed.pathname]
  }
  if (!hosts.has(host.toLowerCase())) return undefined
  const parts = path.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\.git$/, '').split('/')
  if (parts.length !== 2 || !parts.every((p) => NAME.test(p) && p !== '.' && p !== '..')) return undefined
  return { owner: parts[0]!, repo: parts[1]! }
}
