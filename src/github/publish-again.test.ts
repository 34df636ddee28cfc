import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGitHubStandIn, type GitHubStandIn } from '../../local/github-standin'
import { GitHubApi } from './api'
import { DEFAULT_AUTHOR } from './commit'
import { defaultBranch, publishChanges, type PublishInput, type PullRequestPlan } from './pull-request'

/**
 * A run's object can restart after it pushed and before it recorded the result; its next
 * attempt finds its own branch and pull request on GitHub (a real bare repository behind the
 * GitHub stand-in) and takes them over. A branch it did not name is never overwritten.
 */

const TOKEN = 'ghp_publish_again'
let gh: GitHubStandIn
let root: string

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'osw-publish-'))
  gh = await startGitHubStandIn({ root, tokens: [TOKEN] })
  await gh.createRepo('acme', 'tools', { 'README.md': 'tools\n' })
  await gh.git('acme', 'tools', ['branch', 'someone-else', 'main'])
})

afterAll(async () => {
  await gh?.close()
  rmSync(root, { recursive: true, force: true })
})

const api = () => Promise.resolve(new GitHubApi(gh.url, TOKEN))

async function attempt(plan: PullRequestPlan, runId: string, text: string) {
  const head = (await gh.git('acme', 'tools', ['rev-parse', 'main'])).trim()
  const input: PublishInput = {
    runId,
    runLink: runId,
    summary: 'Done.',
    head,
    changes: [{ path: 'NOTES.md', status: 'added', mode: '100644' }],
    read: async () => ({ type: 'text', content: text }),
    author: DEFAULT_AUTHOR,
  }
  return publishChanges(api, plan, input)
}

describe('publishing a run a second time', () => {
  it("takes over the run's own branch and pull request", async () => {
    const plan: PullRequestPlan = { owner: 'acme', repo: 'tools', mode: 'open', branch: defaultBranch('run_again'), title: 'Notes', draft: false }
    const first = await attempt(plan, 'run_again', 'first\n')
    const second = await attempt(plan, 'run_again', 'second\n')
    expect(first).toMatchObject({ state: 'opened', branch: plan.branch })
    expect(second).toEqual({ state: 'opened', number: first.number, url: first.url, branch: plan.branch, commit: expect.stringMatching(/^[0-9a-f]{40}$/) })
    expect(await gh.git('acme', 'tools', ['show', `${plan.branch}:NOTES.md`])).toBe('second\n')
    expect(gh.pulls.filter((p) => p.head === plan.branch)).toHaveLength(1)
  })

  it('leaves a branch it did not name alone', async () => {
    const before = (await gh.git('acme', 'tools', ['rev-parse', 'someone-else'])).trim()
    const plan: PullRequestPlan = { owner: 'acme', repo: 'tools', mode: 'open', branch: 'someone-else', title: 'Notes', draft: false }
    const result = await attempt(plan, 'run_other', 'mine\n')
    expect(result).toMatchObject({ state: 'failed', error: { status: 422, message: expect.stringContaining('Reference already exists') } })
    expect((await gh.git('acme', 'tools', ['rev-parse', 'someone-else'])).trim()).toBe(before)
  })
})
