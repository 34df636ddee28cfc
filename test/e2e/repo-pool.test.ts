import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, commitFiles, createSession, EventStream, fixtureRepo, hostSandboxes, isIdleEvent, sign, waitFor, webhook, type Json } from './helpers'
import { startGitServer, type GitServer } from './git-server'

/**
 * Repository warm pools (WARM_POOLS) on a stack of their own: a private repository on a local git
 * host that counts as GitHub (GITHUB_API_URL), cloned by the pool with the deployment's
 * GITHUB_TOKEN. Sessions on exactly its repository, ref and setup take a ready sandbox; a
 * verified push delivery refreshes the pool; anything else starts cold.
 */

const PASSWORD = 'git-host-password-0123456789'
const HOOK_SECRET = 'gh-push-secret-for-repo-pools'
const SETUP = 'git rev-parse HEAD > built.txt && echo done > setup-output.txt'

let own: OwnStack
let git: GitServer
let root: string
let work: string
let url: string

const bare = () => join(root, 'o', 'r.git')
const head = () => execFileSync('git', ['rev-parse', 'HEAD'], { cwd: work, encoding: 'utf8' }).trim()
const pooled = async () => (await hostSandboxes()).filter((s) => s.metadata.pool === 'repo' && s.opencodePid)
const builtIn = (workdir: string) => (existsSync(join(workdir, 'built.txt')) ? readFileSync(join(workdir, 'built.txt'), 'utf8').trim() : '')

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'osw-repo-pool-git-'))
  work = fixtureRepo('repo-pool', { 'README.md': 'first\n' })
  mkdirSync(join(root, 'o'))
  execFileSync('git', ['clone', '--quiet', '--bare', work, bare()])
  git = await startGitServer(root, PASSWORD)
  url = `${git.url}/o/r.git`
  own = await startOwnStack('repo-pool', {
    WARM_POOLS: JSON.stringify([{ repo: url, ref: 'main', setup: SETUP, size: 1 }]),
    GITHUB_API_URL: git.url,
    GITHUB_TOKEN: PASSWORD,
    GITHUB_WEBHOOK_SECRET: HOOK_SECRET,
  })
})

afterAll(async () => {
  await own?.close()
  await git?.close()
  for (const dir of [root, work]) if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Starts a session, waits until it can take a message (or fails), and says how its sandbox was made. */
async function start(body: Json) {
  const id = await createSession(body)
  const stream = new EventStream(id)
  await stream.until((e) => isIdleEvent(e) || (e.event === 'session.status' && e.data.status === 'failed'))
  await stream.close()
  const starts = stream.events.filter((e) => e.event === 'sandbox.status')
  const read = async (path: string) => (await api(`/v1/sessions/${id}/files?path=${path}`)).body.content as string | undefined
  return { id, starts, steps: starts.map((e) => String(e.data.reason ?? e.data.state)), read }
}

const end = async (id: string) => expect((await api(`/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(200)

const poolReady = () =>
  waitFor(
    'the repository pool to fill, and no other sandbox of it to be left',
    async () => {
      const listed = await pooled()
      return (await api('/health', { key: null })).body.repoPools?.ready === 1 && listed.length === 1 && listed[0]
    },
    240_000,
  )

/** A pool's sandbox is a clone, a setup and an opencode start: minutes on a machine under load. */
const SLOW = 400_000

describe('repository warm pools', () => {
  it('starts a session on the pooled repository, ref and setup from a ready sandbox holding no credentials', async () => {
    const ready = await poolReady()
    expect(builtIn(ready.workdir)).toBe(head())
    // The deployment's token was for the clone only: not in the home, the clone's config or the environment.
    expect(existsSync(join(dirname(ready.workdir), 'home', '.clone-credentials'))).toBe(false)
    expect(readFileSync(join(ready.workdir, '.git', 'config'), 'utf8')).not.toContain(PASSWORD)
    expect(readFileSync(`/proc/${ready.opencodePid}/environ`, 'utf8')).not.toContain(PASSWORD)

    const s = await start({ repo: { url, ref: 'main', token: PASSWORD }, setup: SETUP })
    try {
      expect(s.steps).toEqual(['starting', 'warm', 'updating', 'ready'])
      expect(s.starts[1]!.data.ageSeconds).toEqual(expect.any(Number))
      expect([(await s.read('built.txt'))?.trim(), (await s.read('setup-output.txt'))?.trim()]).toEqual([head(), 'done'])
      const reply = await api(`/v1/sessions/${s.id}/messages?wait=true&timeout=180`, { body: { text: 'hello from a pooled repository' } })
      expect(reply.body.reply.text).toContain('hello from a pooled repository')
    } finally {
      await end(s.id)
    }
  }, SLOW)

  it('refuses an unsigned or forged push delivery, and refreshes the pool on a verified one', async () => {
    const old = await poolReady()
    commitFiles(work, { 'README.md': 'second\n' }, 'second')
    execFileSync('git', ['push', '--quiet', bare(), 'main'], { cwd: work })
    const raw = JSON.stringify({ ref: 'refs/heads/main', after: head(), repository: { clone_url: url, default_branch: 'main' } })
    const headers = { 'x-github-event': 'push' }
    const unsigned = await webhook('/v1/webhooks/github', raw, headers)
    expect([unsigned.status, unsigned.body.error?.code]).toEqual([401, 'unauthorized'])
    const forged = await webhook('/v1/webhooks/github', raw, { ...headers, 'x-hub-signature-256': sign('not-the-secret', raw) })
    expect(forged.status).toBe(401)
    const tampered = await webhook('/v1/webhooks/github', raw.replace('main', 'dev'), { ...headers, 'x-hub-signature-256': sign(HOOK_SECRET, raw) })
    expect(tampered.status).toBe(401)
    expect(builtIn(old.workdir)).not.toBe(head())

    const other = JSON.stringify({ ref: 'refs/heads/dev', after: head(), repository: { clone_url: url } })
    const ignored = await webhook('/v1/webhooks/github', other, { ...headers, 'x-hub-signature-256': sign(HOOK_SECRET, other) })
    expect([ignored.status, ignored.body.ignored]).toEqual([202, true])
    const pushed = await webhook('/v1/webhooks/github', raw, { ...headers, 'x-hub-signature-256': sign(HOOK_SECRET, raw) })
    expect([pushed.status, pushed.body]).toEqual([202, { ignored: false, refreshing: 1 }])

    const fresh = await waitFor('a pooled sandbox at the pushed commit', async () => (await pooled()).find((s) => builtIn(s.workdir) === head()), 240_000)
    await waitFor('the one behind to go', async () => !(await pooled()).some((s) => s.sandboxId === old.sandboxId))
    const s = await start({ repo: { url, ref: 'main', token: PASSWORD }, setup: SETUP })
    try {
      expect(s.steps).toEqual(['starting', 'warm', 'updating', 'ready'])
      expect(await s.read('README.md')).toBe('second\n')
      expect((await s.read('built.txt'))?.trim()).toBe(head())
      expect(fresh.sandboxId).not.toBe(old.sandboxId)
    } finally {
      await end(s.id)
    }
  }, SLOW)

  it('starts cold a session with another setup or its own secrets', async () => {
    await poolReady()
    const otherSetup = await start({ repo: { url, ref: 'main', token: PASSWORD }, setup: 'echo other > built.txt' })
    expect(otherSetup.steps.slice(0, 3)).toEqual(['starting', 'creating', 'cloning'])
    await end(otherSetup.id)
    const withSecrets = await start({ repo: { url, ref: 'main', token: PASSWORD }, setup: SETUP, secrets: { MY_TOKEN: 'x' } })
    expect(withSecrets.steps).not.toContain('warm')
    expect(withSecrets.steps).toContain('cloning')
    await end(withSecrets.id)
  }, SLOW)

  it('gives no pooled sandbox to a session that cannot read the repository: the pool keeps it, the session fares as without a pool', async () => {
    const ready = await poolReady()
    /** What a session came to: its steps, status and error as GET shows them. */
    const outcome = async (s: Awaited<ReturnType<typeof start>>) => {
      const { status, error } = (await api(`/v1/sessions/${s.id}`)).body
      await api(`/v1/sessions/${s.id}`, { method: 'DELETE' })
      return { steps: s.steps, status, error }
    }
    for (const repo of [{ url, ref: 'main' }, { url, ref: 'main', token: 'not-the-password-0123' }]) {
      // The same repository with a setup no pool has: a start without a pool.
      const unpooled = await outcome(await start({ repo, setup: 'true' }))
      expect(unpooled.steps.slice(0, 3)).toEqual(['starting', 'creating', 'cloning'])
      expect(unpooled).toMatchObject({ status: 'failed', error: { code: 'clone_failed' } })
      const outsider = await start({ repo, setup: SETUP })
      // The pool's sandbox is still there, ready for a session that may read the repository.
      expect((await api('/health', { key: null })).body.repoPools).toMatchObject({ ready: 1 })
      expect((await pooled()).map((s) => s.sandboxId)).toEqual([ready.sandboxId])
      expect(await outsider.read('built.txt')).toBeUndefined()
      expect(await outcome(outsider)).toEqual(unpooled)
    }
    const s = await start({ repo: { url, ref: 'main', token: PASSWORD }, setup: SETUP })
    expect(s.steps).toEqual(['starting', 'warm', 'updating', 'ready'])
    await end(s.id)
  }, SLOW)
})
