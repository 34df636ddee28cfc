import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGitHubStandIn, type GitHubStandIn } from '../../local/github-standin'
import { api, EventStream, finished, scripted, sign, TEST_KEYS, tenantIdOf, waitFor, webhook, type Json } from './helpers'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'

/**
 * Runs that end on GitHub: a branch and a pull request (or one more commit on a pull request's
 * branch) written by the Worker through the Git Data API of a GitHub stand-in, whose
 * repositories are real bare repositories read here with git. The Worker authenticates as a
 * GitHub App whose key is made here; the repositories are private, so the clone needs the
 * installation token too.
 */

const HOOK_SECRET = 'gh-pr-hook-secret'
const APP_ID = '4242'
/** Tenant A (the helpers' default key) is granted acme's repositories; tenant B only beta's tools. */
const [KEY_A, KEY_B] = [TEST_KEYS[0], TEST_KEYS[1]]
/** Tenant B's own token, which the stand-in takes as a personal token: it reaches acme/api too. */
const B_OWN_TOKEN = 'ghp_tenant_b_own_token_0123456789'
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })

let gh: GitHubStandIn
let own: OwnStack
let root: string

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'osw-ghpr-'))
  gh = await startGitHubStandIn({ root, app: { id: APP_ID, publicKey }, tokens: [B_OWN_TOKEN] })
  await gh.createRepo('acme', 'widgets', { 'README.md': 'old\n', 'old.txt': 'bye\n', 'run.sh': '#!/bin/sh\necho hi\n' })
  await gh.createRepo('acme', 'api', { 'README.md': 'api\n' })
  await gh.git('acme', 'api', ['branch', 'taken', 'main'])
  await gh.createRepo('forker', 'widgets', { 'README.md': 'fork\n' }, { public: true })
  await gh.git('forker', 'widgets', ['branch', 'feature', 'main'])
  await gh.createRepo('beta', 'tools', { 'README.md': 'tools\n' })
  await gh.createRepo('stray', 'thing', { 'README.md': 'nobody\'s\n' })
  own = await startOwnStack('github-pr', {
    GITHUB_TENANT_REPOS: JSON.stringify({ [tenantIdOf(KEY_A)]: ['acme/*'], [tenantIdOf(KEY_B)]: ['beta/tools'] }),
    GITHUB_WEBHOOK_SECRET: HOOK_SECRET,
    GITHUB_API_URL: gh.url,
    GITHUB_APP_ID: APP_ID,
    // One line, as a setting holds it: the Worker reads the escaped newlines back.
    GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString().replace(/\n/g, '\\n'),
    GITHUB_COMMIT_AUTHOR: 'Test Bot <bot@example.com>',
  }, { scriptedModel: true })
})

afterAll(async () => {
  await own?.close()
  await gh?.close()
  rmSync(root, { recursive: true, force: true })
})

const user = { login: 'ann', type: 'User' }
const repository = (name = 'widgets', owner = 'acme') => ({ name, owner: { login: owner }, clone_url: gh.cloneUrl(owner, name), default_branch: 'main' })
let seq = 0
const deliver = (event: string, payload: Json) => {
  const raw = JSON.stringify(payload)
  return webhook('/v1/webhooks/github', raw, { 'x-hub-signature-256': sign(HOOK_SECRET, raw), 'x-github-event': event, 'x-github-delivery': `d-${seq++}` })
}
const bash = (command: string) => ({ tool: { name: 'bash', args: { command, description: 'change files' } } })
const prComment = (number: number, commentId: number, script: Json) => ({
  action: 'created',
  issue: { id: 70_000 + commentId, number, title: 'A pull request', body: 'Please review.', author_association: 'NONE', user, pull_request: { url: 'x' } },
  comment: { id: commentId, body: `/opencode go on ${scripted(script, '')}`, author_association: 'OWNER', user },
  repository: repository(),
  sender: user,
})
const commentsOn = (issue: number) => gh.comments.filter((c) => c.issue === issue)
/** The comment once edited with the run's result (it starts as "Working on it"). */
const resultComment = (issue: number, runId: string) =>
  waitFor(`the result comment of ${runId}`, () => commentsOn(issue).find((c) => c.body.includes(runId) && c.edits.length > 0))
const show = (owner: string, repo: string, ...args: string[]) => gh.git(owner, repo, args)

describe('runs that end in a pull request', () => {
  it('an issue becomes a PR whose one commit holds exactly the changes; a comment on the PR adds a commit to its branch', async () => {
    const mainBefore = (await show('acme', 'widgets', 'rev-parse', 'main')).trim()
    const script = {
      steps: [
        bash("printf 'brand new\\n' > NEW.md && printf 'changed\\n' > README.md && rm old.txt && printf '\\000\\001\\377bin' > logo.bin && chmod +x run.sh && printf '#!/bin/sh\\necho tool\\n' > tool.sh && chmod +x tool.sh"),
        { text: 'Tidied the repository.' },
      ],
    }
    const issue = {
      action: 'opened',
      issue: { id: 501, number: 7, title: 'Tidy the repo', body: `/opencode ${scripted(script, '')}`, author_association: 'MEMBER', user },
      repository: repository(),
      sender: user,
    }
    const res = await deliver('issues', issue)
    expect(res.status).toBe(202)
    const runId = res.body.run.id as string
    // At once, before the run ends: a comment saying it started.
    expect(commentsOn(7)).toHaveLength(1)
    expect(commentsOn(7)[0]!.body).toContain(runId)
    expect(commentsOn(7)[0]!.body).toContain('Working on it')

    const run = await finished(runId)
    expect(run.status).toBe('succeeded')
    const branch = `opencode/issue-7-${runId}`
    expect(run.result.pullRequest).toEqual({ state: 'opened', number: expect.any(Number), url: expect.any(String), branch, commit: expect.stringMatching(/^[0-9a-f]{40}$/) })
    expect(run.result.diff).toContain('NEW.md')
    const commit = run.result.pullRequest.commit as string

    // The branch is one commit on main, holding exactly the agent's changes, modes included.
    expect((await show('acme', 'widgets', 'rev-parse', branch)).trim()).toBe(commit)
    expect((await show('acme', 'widgets', 'rev-parse', `${commit}^`)).trim()).toBe(mainBefore)
    const changed = (await show('acme', 'widgets', 'diff', '--raw', '--no-renames', 'main', branch)).trim().split('\n').map((l) => l.replace(/ [0-9a-f]{7,40}\.*/g, ''))
    expect(changed.sort()).toEqual(
      [':000000 100644 A\tNEW.md', ':100644 100644 M\tREADME.md', ':000000 100644 A\tlogo.bin', ':100644 000000 D\told.txt', ':100644 100755 M\trun.sh', ':000000 100755 A\ttool.sh'].sort(),
    )
    // The binary byte for byte: its blob id is git's hash of exactly these bytes.
    const bytes = Buffer.from([0, 1, 0xff, ...Buffer.from('bin')])
    const blobId = createHash('sha1').update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes])).digest('hex')
    expect((await show('acme', 'widgets', 'rev-parse', `${branch}:logo.bin`)).trim()).toBe(blobId)
    expect(await show('acme', 'widgets', 'show', `${branch}:README.md`)).toBe('changed\n')
    expect(await show('acme', 'widgets', 'log', '-1', '--format=%an <%ae>%n%s', branch)).toBe('Test Bot <bot@example.com>\nTidy the repo (#7)\n')

    const pull = gh.pulls.find((p) => p.head === branch)!
    expect(pull).toMatchObject({ repo: 'acme/widgets', base: 'main', draft: false, title: 'Tidy the repo (#7)' })
    expect(pull.body).toContain('Tidied the repository.')
    expect(pull.body).toContain(runId)
    expect(pull.body).toContain('Closes #7')
    expect(run.result.pullRequest.number).toBe(pull.number)

    // The first comment was edited in place with the link; no second comment.
    const done = await resultComment(7, runId)
    expect(commentsOn(7)).toHaveLength(1)
    expect(done.body).toContain('**succeeded**')
    expect(done.body).toContain(run.result.pullRequest.url)
    expect(done.body).not.toContain('```diff')

    // A comment on that pull request: one more commit on its branch, a fast-forward.
    const more = await deliver('issue_comment', prComment(pull.number, 601, { steps: [bash("printf 'more\\n' >> NEW.md"), { text: 'Added a line.' }] }))
    const second = await finished(more.body.run.id as string)
    expect(second.status).toBe('succeeded')
    expect(second.result.pullRequest).toMatchObject({ state: 'updated', number: pull.number, branch, commit: expect.stringMatching(/^[0-9a-f]{40}$/) })
    const tip = second.result.pullRequest.commit as string
    expect((await show('acme', 'widgets', 'rev-parse', branch)).trim()).toBe(tip)
    expect((await show('acme', 'widgets', 'rev-parse', `${tip}^`)).trim()).toBe(commit)
    // It ran on the branch: the line went below what the first run wrote.
    expect(await show('acme', 'widgets', 'show', `${branch}:NEW.md`)).toBe('brand new\nmore\n')
    expect(gh.pulls.filter((p) => p.repo === 'acme/widgets' && !p.headRepo)).toHaveLength(1)
    const pushed = await resultComment(pull.number, second.id as string)
    expect(pushed.body).toContain(`Pushed ${tip.slice(0, 7)}`)

    // Every call carried the App's JWT or an installation token, the clones included (git asks
    // without credentials first and is refused); no token minted reached the sessions' events.
    expect(gh.calls.length).toBeGreaterThan(10)
    for (const call of gh.calls) {
      if (call.credential === 'none') expect(call).toMatchObject({ status: 401, path: expect.stringMatching(/\.git\/info\/refs$/) })
      else expect(['jwt', 'installation']).toContain(call.credential)
    }
    expect(gh.calls.some((c) => c.path.endsWith('/git-upload-pack') && c.credential === 'installation')).toBe(true)
    expect(gh.minted.length).toBeGreaterThan(0)
    for (const sessionId of [run.sessionId, second.sessionId] as string[]) {
      const log = new EventStream(sessionId)
      await waitFor('the ended session to replay its log', () => log.ended)
      const text = JSON.stringify(log.events)
      for (const token of gh.minted) expect(text).not.toContain(token)
    }
  })

  it("answers a fork's pull request with the diff, and an issue without changes with a note", async () => {
    const fork = gh.addPull({ repo: 'acme/widgets', headRepo: 'forker/widgets', head: 'feature', base: 'main', title: 'From a fork', body: '', draft: false })
    const featureBefore = (await show('forker', 'widgets', 'rev-parse', 'feature')).trim()
    const refsBefore = await show('acme', 'widgets', 'for-each-ref')
    const [forked, quiet] = await Promise.all([
      deliver('issue_comment', prComment(fork.number, 602, { steps: [bash("printf 'from the fork run\\n' > fork.txt"), { text: 'Wrote fork.txt.' }] })),
      deliver('issues', {
        action: 'opened',
        issue: { id: 502, number: 8, title: 'Just look', body: `/opencode ${scripted({ reply: 'Nothing to change.' }, '')}`, author_association: 'OWNER', user },
        repository: repository(),
        sender: user,
      }),
    ])
    const [a, b] = await Promise.all([finished(forked.body.run.id as string), finished(quiet.body.run.id as string)])

    expect(a.status).toBe('succeeded')
    expect(a.result.pullRequest).toEqual({ state: 'not_pushed', number: fork.number, url: expect.any(String) })
    expect(a.result.diff).toContain('+from the fork run')
    const forkComment = await resultComment(fork.number, a.id as string)
    expect(forkComment.body).toContain('in a fork')
    expect(forkComment.body).toContain('+from the fork run')
    expect((await show('forker', 'widgets', 'rev-parse', 'feature')).trim()).toBe(featureBefore)

    expect(b.status).toBe('succeeded')
    expect(b.result.pullRequest).toEqual({ state: 'unchanged' })
    expect((await resultComment(8, b.id as string)).body).toContain('No changes')
    expect(await show('acme', 'widgets', 'for-each-ref')).toBe(refsBefore)
  })

  it('POST /v1/runs opens a draft PR when asked, and a branch that exists ends in the error, the diff kept', async () => {
    const url = gh.cloneUrl('acme', 'api')
    const takenBefore = (await show('acme', 'api', 'rev-parse', 'taken')).trim()
    const change = (line: string) => scripted({ steps: [bash(`printf '${line}\\n' >> README.md`), { text: `Appended ${line}.` }] })
    const [draft, clash] = await Promise.all([
      api('/v1/runs', { body: { prompt: change('drafted'), repo: { url }, output: { pullRequest: { title: 'Via the API', draft: true } } } }),
      api('/v1/runs', { body: { prompt: change('clashing'), repo: { url }, output: { pullRequest: { branch: 'taken' } } } }),
    ])
    expect(draft.status).toBe(202)
    expect(clash.status).toBe(202)
    const [d, c] = await Promise.all([finished(draft.body.id as string), finished(clash.body.id as string)])

    expect(d.result.pullRequest).toMatchObject({ state: 'opened', branch: `opencode/run-${d.id}` })
    const pull = gh.pulls.find((p) => p.number === d.result.pullRequest.number)!
    expect(pull).toMatchObject({ repo: 'acme/api', base: 'main', draft: true, title: 'Via the API' })
    expect(pull.body).not.toContain('Closes')
    expect(await show('acme', 'api', 'show', `opencode/run-${d.id}:README.md`)).toBe('api\ndrafted\n')

    expect(c.status).toBe('succeeded')
    expect(c.result.pullRequest).toMatchObject({ state: 'failed', branch: 'taken', error: { status: 422, message: expect.stringContaining('Reference already exists') } })
    expect(c.result.diff).toContain('+clashing')
    expect((await show('acme', 'api', 'rev-parse', 'taken')).trim()).toBe(takenBefore)
  })

  it("holds the agent's own commits as well as what it left uncommitted, on the cloned commit", async () => {
    const url = gh.cloneUrl('acme', 'api')
    const mainBefore = (await show('acme', 'api', 'rev-parse', 'main')).trim()
    const steps = [
      bash("printf 'committed\\n' > COMMITTED.md && git add -A && git -c user.name=a -c user.email=a@b commit -qm 'the agent commits'"),
      bash("printf 'loose\\n' > LOOSE.md"),
      { text: 'Committed one file, left another.' },
    ]
    const res = await api('/v1/runs', { body: { prompt: scripted({ steps }), repo: { url }, output: { pullRequest: {} } } })
    expect(res.status).toBe(202)
    const run = await finished(res.body.id as string)
    expect(run.result.pullRequest).toMatchObject({ state: 'opened' })
    const branch = run.result.pullRequest.branch as string
    expect((await show('acme', 'api', 'rev-parse', `${branch}^`)).trim()).toBe(mainBefore)
    expect((await show('acme', 'api', 'diff', '--name-only', 'main', branch)).trim().split('\n').sort()).toEqual(['COMMITTED.md', 'LOOSE.md'])
    expect(run.result.diff).toContain('+committed')
    expect(run.result.diff).toContain('+loose')
  })

  it('refuses a pull request for a repository that is not on GitHub, or none', async () => {
    for (const body of [
      { prompt: 'x', repo: { url: 'https://gitlab.com/a/b' }, output: { pullRequest: {} } },
      { prompt: 'x', output: { pullRequest: {} } },
      { prompt: 'x', repo: { url: gh.cloneUrl('acme', 'api') }, output: { pullRequest: { branch: '../main' } } },
    ]) {
      const res = await api('/v1/runs', { body })
      expect(res.status).toBe(400)
      expect(res.body.error.code).toBe('validation_failed')
    }
  })
})

describe("the deployment's GitHub credential serves a tenant only on repositories granted to it", () => {
  const deployments = (calls: typeof gh.calls) => calls.filter((c) => c.credential === 'jwt' || c.credential === 'installation')
  const change = (line: string) => scripted({ steps: [bash(`printf '${line}\\n' >> README.md`), { text: `Appended ${line}.` }] })

  it('refuses a tenant without a grant with 403 before any call to the git host or GitHub, and lets it bring its own token', async () => {
    const url = gh.cloneUrl('acme', 'api')
    const seen = gh.calls.length
    for (const body of [
      { prompt: change('stolen'), repo: { url }, output: { pullRequest: {} } },
      { prompt: change('stolen'), repo: { url: gh.cloneUrl('acme', 'widgets'), ref: 'main' }, output: { pullRequest: { branch: 'b-steals' } } },
    ]) {
      const res = await api('/v1/runs', { key: KEY_B, body })
      expect(res.status).toBe(403)
      expect(res.body.error.code).toBe('forbidden')
      expect(res.body.error.message).toContain('GITHUB_TENANT_REPOS')
    }
    expect(gh.calls.slice(seen)).toEqual([])

    // With its own token: cloned and written with that token alone, never the App's.
    const res = await api('/v1/runs', { key: KEY_B, body: { prompt: change('by B'), repo: { url, token: B_OWN_TOKEN }, output: { pullRequest: { title: "B's own" } } } })
    expect(res.status).toBe(202)
    const run = await finished(res.body.id as string, KEY_B)
    expect(run.status).toBe('succeeded')
    expect(run.result.pullRequest).toMatchObject({ state: 'opened', branch: `opencode/run-${run.id}` })
    expect(await show('acme', 'api', 'show', `opencode/run-${run.id}:README.md`)).toContain('by B\n')
    expect(gh.pulls.find((p) => p.number === run.result.pullRequest.number)).toMatchObject({ repo: 'acme/api', title: "B's own" })
    const calls = gh.calls.slice(seen)
    expect(calls.some((c) => c.path.endsWith('/git-upload-pack') && c.credential === 'token')).toBe(true)
    expect(calls.some((c) => c.method === 'POST' && c.path === '/repos/acme/api/pulls' && c.credential === 'token')).toBe(true)
    expect(deployments(calls)).toEqual([])
    // The token is nowhere to be read back: not in the run, not in its session's events.
    expect(JSON.stringify(run)).not.toContain(B_OWN_TOKEN)
    const log = new EventStream(run.sessionId as string, { key: KEY_B })
    await waitFor('the ended session to replay its log', () => log.ended)
    expect(JSON.stringify(log.events)).not.toContain(B_OWN_TOKEN)
  })

  it("starts a GitHub-triggered run in the repository's tenant, and ignores a repository of none", async () => {
    const issue = (owner: string, name: string, id: number) => ({
      action: 'opened',
      issue: { id, number: 3, title: 'Look', body: `/opencode ${scripted({ reply: 'Looked.' }, '')}`, author_association: 'OWNER', user },
      repository: repository(name, owner),
      sender: user,
    })
    const res = await deliver('issues', issue('beta', 'tools', 901))
    expect(res.status).toBe(202)
    expect(res.body.ignored).toBe(false)
    const runId = res.body.run.id as string
    const run = await finished(runId, KEY_B)
    expect(run.status).toBe('succeeded')
    expect((await api(`/v1/runs/${runId}`, { key: KEY_A })).status).toBe(404)
    expect((await api(`/v1/sessions/${run.sessionId}`, { key: KEY_A })).status).toBe(404)
    expect((await api(`/v1/sessions/${run.sessionId}`, { key: KEY_B })).status).toBe(200)
    await resultComment(3, runId)

    const seen = gh.calls.length
    const stray = await deliver('issues', issue('stray', 'thing', 902))
    expect(stray.status).toBe(202)
    expect(stray.body).toEqual({ ignored: true, reason: 'stray/thing belongs to no tenant (GITHUB_TENANT_REPOS)' })
    expect(gh.calls.slice(seen)).toEqual([])
    expect(gh.comments.filter((c) => c.repo === 'stray/thing')).toEqual([])
  })
})
