import { describe, expect, it } from 'vitest'
import { githubToken, hasGitHubCredentials, usesApp } from './credentials'

const repo = { owner: 'acme', repo: 'widgets' }

describe('GitHub credentials', () => {
  it('use GITHUB_TOKEN when no App is configured', async () => {
    expect(await githubToken({ GITHUB_TOKEN: 'ghp_x' }, repo)).toBe('ghp_x')
    expect(await githubToken({}, repo)).toBeUndefined()
  })

  it('take an App only with both its id and its key', () => {
    expect(usesApp({ GITHUB_APP_ID: '1' })).toBe(false)
    expect(usesApp({ GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: 'k' })).toBe(true)
    expect(hasGitHubCredentials({})).toBe(false)
    expect(hasGitHubCredentials({ GITHUB_TOKEN: 't' })).toBe(true)
    expect(hasGitHubCredentials({ GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: 'k' })).toBe(true)
  })

  it('say so when the App key cannot sign, before any call', async () => {
    await expect(githubToken({ GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: 'not a key', GITHUB_API_URL: 'http://127.0.0.1:9' }, repo)).rejects.toThrow(/cannot sign/)
  })
})
