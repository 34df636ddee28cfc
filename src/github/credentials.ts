import type { Bindings } from '../env'
import { GitHubApi, GitHubError } from './api'
import { appJwt, tokenUsable } from './app-auth'
import { githubRepoOf, type GitHubRepo } from './repo-url'

type GitHubSettings = Pick<Bindings, 'GITHUB_TOKEN' | 'GITHUB_API_URL' | 'GITHUB_APP_ID' | 'GITHUB_APP_PRIVATE_KEY'>

export const usesApp = (env: GitHubSettings) => Boolean(env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY)

/** Whether any GitHub credential is configured (an App, or GITHUB_TOKEN). */
export const hasGitHubCredentials = (env: GitHubSettings) => usesApp(env) || Boolean(env.GITHUB_TOKEN)

/**
 * Installation tokens of this isolate, by repository: each is good for an hour, and minting
 * one per call would spend two API calls and the App's rate limit on every step.
 */
const installationTokens = new Map<string, { token: string; expiresAt: string }>()

/**
 * The token for calls on `repo`: with GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, an installation
 * token of the App's installation on it (cached until shortly before it expires); else GITHUB_TOKEN.
 */
export async function githubToken(env: GitHubSettings, repo: GitHubRepo): Promise<string | undefined> {
  if (!usesApp(env)) return env.GITHUB_TOKEN || undefined
  const key = `${repo.owner}/${repo.repo}`.toLowerCase()
  const cached = installationTokens.get(key)
  if (cached && tokenUsable(cached.expiresAt)) return cached.token
  let jwt: string
  try {
    jwt = await appJwt(env.GITHUB_APP_ID!, env.GITHUB_APP_PRIVATE_KEY!)
  } catch (err) {
    throw new GitHubError(undefined, `the GitHub App's key cannot sign: ${err instanceof Error ? err.message : String(err)}`)
  }
  const app = new GitHubApi(env.GITHUB_API_URL, jwt)
  const installation = await app.request<{ id: number }>('GET', `/repos/${repo.owner}/${repo.repo}/installation`)
  const minted = await app.request<{ token: string; expires_at: string }>('POST', `/app/installations/${installation.id}/access_tokens`, {
    repositories: [repo.repo],
  })
  installationTokens.set(key, { token: minted.token, expiresAt: minted.expires_at })
  return minted.token
}

/** The API, authenticated for calls on `repo`. */
export async function githubApi(env: GitHubSettings, repo: GitHubRepo): Promise<GitHubApi> {
  return new GitHubApi(env.GITHUB_API_URL, await githubToken(env, repo))
}

/** The GitHub repository `url` clones over http(s), if it is one. */
export function cloneTarget(env: GitHubSettings, url: string): GitHubRepo | undefined {
  return /^https?:\/\//.test(url) ? githubRepoOf(url, env.GITHUB_API_URL) : undefined
}

/** Whether `url` is cloned with the deployment's GitHub credential (cloneToken gives one). */
export const clonesWithGitHubCredential = (env: GitHubSettings, url: string) => cloneTarget(env, url) !== undefined && hasGitHubCredentials(env)

/** A token for cloning `url` from GitHub: minted when asked, so a clone an hour later is not refused. */
export async function cloneToken(env: GitHubSettings, url: string): Promise<string | undefined> {
  const target = cloneTarget(env, url)
  return target ? githubToken(env, target) : undefined
}
