import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { E2BStandInSandbox } from '../../local/e2b-standin'
import { startGitServer, type GitServer } from '../e2e/git-server'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, commitFiles, createSession, EventStream, fixtureRepo, git, isIdleEvent, isReplyTo, scripted, sendMessage, streamFromNow, waitFor, type Json } from '../helpers'

/**
 * Repository warm pools (WARM_POOLS) on E2B: the pool clones a private repository from a local
 * git host that counts as GitHub (GITHUB_API_URL) with the deployment's GITHUB_TOKEN, through the
 * real `e2b` SDK on the stand-in, whose sandboxes reach that host and nothing else of the machine.
 */

const E2B_KEY = 'e2b_repo_pool_key_0123456789abcdef'
const PASSWORD = 'e2b-git-host-password-0123456789'
/** Each run of the setup adds a line: a sandbox that shows one line had it run once. */
const SETUP = 'echo ran >> setup-runs.txt'

let own: OwnStack
let gitHost: GitServer
let root: string
let work: string
let url: string

const release = () => execFileSync('git', ['rev-parse', 'release'], { cwd: work, encoding: 'utf8' }).trim()
const standIn = () => own.stack.e2b!
const pooled = () => standIn().list().filter((s) => s.metadata.pool === 'repo')
const workspace = (sb: E2BStandInSandbox) => join(sb.home, 'workspace')
const setupRuns = (sb: E2BStandInSandbox) => {
  const file = join(workspace(sb), 'setup-runs.txt')
  return existsSync(file) ? readFileSync(file, 'utf8') : ''
}
const health = async () => (await api('/health', { key: null })).body

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'osw-e2b-repo-pool-git-'))
  work = fixtureRepo('e2b-repo-pool', { 'README.md': 'main\n' })
  git(work, 'checkout', '--quiet', '-b', 'release')
  commitFiles(work, { 'README.md': 'release\n' }, 'the release README')
  mkdirSync(join(root, 'o'))
  execFileSync('git', ['clone', '--quiet', '--bare', work, join(root, 'o', 'r.git')])
  gitHost = await startGitServer(root, PASSWORD)
  url = `${gitHost.url}/o/r.git`
  own = await startOwnStack(
    'e2b-repo-pool',
    {
      WARM_POOLS: JSON.stringify([{ repo: url, ref: 'release', setup: SETUP, size: 1 }]),
      GITHUB_API_URL: gitHost.url,
      GITHUB_TOKEN: PASSWORD,
    },
    { e2bStandIn: { apiKey: E2B_KEY, egressPorts: [Number(new URL(gitHost.url).port)] }, scriptedModel: true },
  )
})

afterAll(async () => {
  await own?.close()
  await gitHost?.close()
  for (const dir of [root, work]) if (dir) rmSync(dir, { recursive: true, force: true })
})

/** The pool full, with exactly one sandbox of its own, set up once. */
const poolReady = () =>
  waitFor(
    'the repository pool to fill on E2B',
    async () => {
      const [only, ...more] = pooled()
      return (await health()).repoPools?.ready === 1 && only && more.length === 0 && setupRuns(only) === 'ran\n' && only
    },
    240_000,
  )

/** Nothing in the sandbox holds the git host's password: its files (home and workspace), its create-time environment, its processes' environments. */
function holdsPassword(sb: E2BStandInSandbox): string[] {
  const where: string[] = []
  try {
    where.push(...execFileSync('grep', ['-rlF', '--', PASSWORD, sb.home], { encoding: 'utf8' }).trim().split('\n'))
  } catch (err) {
    // grep exits 1 when nothing matched; anything else is the test's failure.
    if ((err as { status?: number }).status !== 1) throw err
  }
  if (Object.values(sb.envs).some((v) => v.includes(PASSWORD))) where.push('create-time environment')
  for (const pid of sb.pids) {
    const environ = (() => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8')
      } catch {
        return '' // ended meanwhile
      }
    })()
    if (environ.includes(PASSWORD)) where.push(`environment of ${pid}`)
  }
  return where
}

/** Starts a session, waits until it can take a message (or fails), and says how its sandbox was made. */
async function start(body: Json) {
  const id = await createSession(body)
  const stream = new EventStream(id)
  await stream.until((e) => isIdleEvent(e) || (e.event === 'session.status' && e.data.status === 'failed'), 240_000)
  await stream.close()
  const steps = stream.events.filter((e) => e.event === 'sandbox.status').map((e) => String(e.data.reason ?? e.data.state))
  const read = async (path: string) => (await api(`/v1/sessions/${id}/files?path=${path}`)).body.content as string | undefined
  return { id, steps, read }
}

const SLOW = 400_000

describe('repository warm pools on E2B', () => {
  it('starts a session with its own token from the pooled sandbox, setup skipped, at its ref, no credentials left, and refills', async () => {
    const ready = await poolReady()
    expect(holdsPassword(ready)).toEqual([])
    expect(readFileSync(join(workspace(ready), 'README.md'), 'utf8')).toBe('release\n')

    const s = await start({ repo: { url, ref: 'release', token: PASSWORD }, setup: SETUP })
    try {
      expect(s.steps).toEqual(['starting', 'warm', 'updating', 'ready'])
      // The pool's sandbox, now the session's: the setup ran once, when the pool made it.
      expect(standIn().list().some((sb) => sb.sandboxId === ready.sandboxId)).toBe(true)
      expect(await s.read('setup-runs.txt')).toBe('ran\n')
      expect(await s.read('README.md')).toBe('release\n')
      // The agent's shell, with the session's permission asked and given: the branch and commit, and no credentials in sight.
      const stream = await streamFromNow(s.id)
      const command = 'git rev-parse HEAD && git branch --show-current && git config --list && ls -A'
      const messageId = await sendMessage(s.id, scripted({ steps: [{ tool: { name: 'bash', args: { command, description: 'where am I' } } }, { text: 'the shell said: {{tool_result}}' }] }))
      const ask = await stream.until((e) => e.event === 'permission.requested', 120_000)
      expect((await api(`/v1/sessions/${s.id}/permissions/${ask.data.permissionId}`, { body: { reply: 'once' } })).status).toBe(200)
      const reply = await stream.until(isReplyTo(messageId), 120_000)
      await stream.close()
      const said = String(reply.data.text)
      expect(said).toContain(`${release()}\nrelease\n`)
      expect(said).not.toContain('.clone-credentials')
      expect(said).not.toContain(PASSWORD)
      // The session's own fetch used its token through the clone-only file, gone with the fetch.
      expect(holdsPassword(standIn().list().find((sb) => sb.sandboxId === ready.sandboxId)!)).toEqual([])

      const fresh = await waitFor(
        'the pool to refill',
        async () => (await health()).repoPools?.ready === 1 && pooled().find((sb) => sb.sandboxId !== ready.sandboxId && setupRuns(sb) === 'ran\n'),
        240_000,
      )
      expect(holdsPassword(fresh)).toEqual([])
    } finally {
      expect((await api(`/v1/sessions/${s.id}`, { method: 'DELETE' })).status).toBe(200)
    }
    await waitFor('the taken sandbox to be killed with its session', async () => !standIn().list().some((sb) => sb.sandboxId === ready.sandboxId))
    expect(pooled()).toHaveLength(1)
  }, SLOW)

  it('gives the pooled sandbox to no session without a token: it starts as without a pool, and the pool keeps its sandbox', async () => {
    const ready = await poolReady()
    const outsider = await start({ repo: { url, ref: 'release' }, setup: SETUP })
    expect(outsider.steps.slice(0, 3)).toEqual(['starting', 'creating', 'cloning'])
    expect((await api(`/v1/sessions/${outsider.id}`)).body).toMatchObject({ status: 'failed', error: { code: 'clone_failed' } })
    expect((await health()).repoPools).toMatchObject({ ready: 1 })
    expect(pooled().map((sb) => sb.sandboxId)).toEqual([ready.sandboxId])
    expect(setupRuns(ready)).toBe('ran\n')
    expect((await api(`/v1/sessions/${outsider.id}`, { method: 'DELETE' })).status).toBe(200)
  }, SLOW)
})
