import { describe, expect, it } from 'vitest'
import type { CreateRunInput } from '../contracts'
import type { Bindings } from '../env'
import { githubSetup } from './github-pr'

const TENANT = `t_${'a'.repeat(32)}`
const env = { GITHUB_TOKEN: 'ghp_t', GITHUB_API_URL: 'http://127.0.0.1:9', GITHUB_TENANT_REPOS: JSON.stringify({ [TENANT]: ['acme/*'] }) } as Bindings
const input = (over: Partial<CreateRunInput>): CreateRunInput => ({ id: 'run_1', tenant: TENANT, gatewayUrl: 'g', request: { prompt: 'Fix the parser\nplease' }, ...over })
const issueTarget = { owner: 'acme', repo: 'widgets', issue: 7, title: 'Broken parser', defaultBranch: 'trunk' }

describe('githubSetup', () => {
  it('plans a pull request for an issue, cloned with the GitHub credential', async () => {
    const setup = await githubSetup(env, input({ github: issueTarget, request: { prompt: 'p', repo: { url: 'https://github.com/acme/widgets.git' } } }))
    expect(setup).toEqual({
      githubClone: true,
      plan: { owner: 'acme', repo: 'widgets', mode: 'open', base: 'trunk', branch: 'opencode/issue-7-run_1', title: 'Broken parser (#7)', draft: false, issue: 7 },
    })
  })

  it('plans nothing with GITHUB_OUTPUT=comment, and no GitHub credential for a clone off GitHub', async () => {
    const setup = await githubSetup({ ...env, GITHUB_OUTPUT: 'comment' }, input({ github: issueTarget, request: { prompt: 'p', repo: { url: '/tmp/repo' } } }))
    expect(setup).toEqual({})
  })

  it('plans what POST /v1/runs asks, its base from repo.ref unless named', async () => {
    const repo = { url: 'http://127.0.0.1:9/acme/api.git', ref: 'develop' }
    const asked = await githubSetup(env, input({ request: { prompt: 'Fix the parser\nplease', repo, output: { pullRequest: { draft: true } } } }))
    expect(asked).toEqual({
      githubClone: true,
      plan: { owner: 'acme', repo: 'api', mode: 'open', base: 'develop', branch: 'opencode/run-run_1', title: 'Fix the parser', draft: true },
    })
    const named = await githubSetup(env, input({ request: { prompt: 'x', repo, output: { pullRequest: { base: 'main', branch: 'mine', title: 'T' } } } }))
    expect(named.plan).toMatchObject({ base: 'main', branch: 'mine', title: 'T', draft: false })
    expect(await githubSetup(env, input({ request: { prompt: 'x', repo } }))).toEqual({})
  })

  it("clones with the deployment's credential only for a tenant granted the repository and bringing no token", async () => {
    const request = { prompt: 'x', repo: { url: 'http://127.0.0.1:9/acme/api.git' }, output: { pullRequest: {} } }
    expect(await githubSetup(env, input({ request }))).toMatchObject({ githubClone: true })
    const other = await githubSetup(env, input({ tenant: `t_${'b'.repeat(32)}`, request }))
    expect(other.githubClone).toBeUndefined()
    expect(other.plan).toMatchObject({ owner: 'acme', repo: 'api' })
    expect((await githubSetup(env, input({ request, repoToken: 'ghp_own' }))).githubClone).toBeUndefined()
    expect((await githubSetup({ ...env, GITHUB_TENANT_REPOS: undefined }, input({ request }))).githubClone).toBeUndefined()
  })
})
