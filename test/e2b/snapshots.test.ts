import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGitServer, type GitServer } from '../e2e/git-server'
import { api, commitFiles, fixtureRepo, git, standInSandboxesOf, startedSession, waitFor } from '../helpers'
import { logEvents } from '../helpers/logs'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { GiveUp } from '../helpers/wait'
import { sandboxCredentials } from '../helpers/standin'
import { agentRuns } from './notes-stack'

/**
 * Repository snapshots with SANDBOX_PROVIDER=e2b, through the stand-in: E2B's `createSnapshot`
 * holds the whole disk and the memory, so the snapshot is taken after a cold boot and before the
 * session's env file exists. A later session of the tenant starts from it; one on a private
 * repository finds nothing of the session that made it, in its sandbox or in the snapshot.
 */

const E2B_KEY = 'e2b_snap_test_key_0123456789ab'
const TOKEN_1 = 'ghp_canaryFirstSessionToken3c1e'
const TOKEN_2 = 'ghp_canarySecondSessionToken9d4f'

let own: OwnStack
let gitRoot: string
let server: GitServer
let outside: string

beforeAll(async () => {
  gitRoot = mkdtempSync(join(tmpdir(), 'osw-e2b-snap-git-'))
  const source = fixtureRepo('e2b-snap-private', { 'README.md': 'from a private repository\n' })
  git(gitRoot, 'clone', '--quiet', '--bare', source, 'private.git')
  rmSync(source, { recursive: true, force: true })
  server = await startGitServer(gitRoot, TOKEN_1, TOKEN_2)
  outside = mkdtempSync(join(tmpdir(), 'osw-e2b-snap-runs-'))
  own = await startOwnStack(
    'e2b-snap',
    { SESSION_IDLE_SECONDS: '600' },
    { e2bStandIn: { apiKey: E2B_KEY, egressPorts: [Number(new URL(server.url).port)] }, scriptedModel: true },
  )
})

afterAll(async () => {
  await own?.close()
  await server?.close()
  for (const dir of [gitRoot, outside]) if (dir) rmSync(dir, { recursive: true, force: true })
})

const standIn = () => own.stack.e2b!
const end = async (id: string) => expect((await api(`/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(200)

describe('repository snapshots on E2B', () => {
  it('starts a second session from the snapshot without its setup, sets a moved ref up again, and honours snapshot: false, listing and delete', async () => {
    const repo = fixtureRepo('e2b-snap', { 'README.md': 'snapshot fixture\n' })
    git(repo, 'branch', 'dev')
    const runsFile = join(outside, 'runs')
    const runs = () => (existsSync(runsFile) ? readFileSync(runsFile, 'utf8').split('\n').filter(Boolean).length : 0)
    const head = (ref: string) => execFileSync('git', ['rev-parse', ref], { cwd: repo, encoding: 'utf8' }).trim()
    // The setup leaves a line outside every sandbox each time it runs, and the commit it saw inside.
    const setup = `echo run >> ${runsFile} && git rev-parse HEAD > built.txt`
    const start = async (body: Record<string, unknown>) => {
      const { id, steps } = await startedSession(body)
      const built = String((await api(`/v1/sessions/${id}/files?path=built.txt`)).body.content).trim()
      await end(id)
      return { steps, built }
    }
    try {
      const first = await start({ repo: { url: repo }, setup })
      expect(first.steps).toEqual(['starting', 'creating', 'cloning', 'setup', 'saving_snapshot', 'starting_agent', 'ready'])
      expect([runs(), first.built]).toEqual([1, head('main')])
      expect(standIn().snapshots()).toHaveLength(1)

      const second = await start({ repo: { url: repo, ref: 'main' }, setup })
      expect(second.steps[1]).toMatch(/^snapshot \(\d+ s old\)$/)
      expect(second.steps).toContain('updating')
      expect(second.steps).not.toContain('cloning')
      expect(second.steps).not.toContain('setup')
      expect([runs(), second.built]).toEqual([1, head('main')])

      // Another branch moved on: from the snapshot, checked out at its commit, set up again, a new snapshot.
      commitFiles(repo, { 'README.md': 'on dev\n' }, 'dev moves')
      git(repo, 'branch', '-f', 'dev', 'HEAD')
      git(repo, 'reset', '--quiet', '--hard', 'HEAD~1')
      const third = await start({ repo: { url: repo, ref: 'dev' }, setup })
      expect(third.steps[1]).toMatch(/^snapshot /)
      expect(third.steps).toEqual(expect.arrayContaining(['updating', 'setup', 'saving_snapshot']))
      expect([runs(), third.built]).toEqual([2, head('dev')])
      expect(head('dev')).not.toBe(head('main'))

      const optedOut = await start({ repo: { url: repo }, setup, snapshot: false })
      expect(optedOut.steps).toEqual(['starting', 'creating', 'cloning', 'setup', 'starting_agent', 'ready'])
      expect(runs()).toBe(3)

      const listed = (await api('/v1/snapshots')).body.items as { id: string; repo: { url: string }; commit: string; sizeBytes: number }[]
      const family = listed.filter((s) => s.repo.url === repo)
      expect(family.map((s) => s.commit)).toEqual([head('dev'), head('main')])
      // E2B does not say how large a snapshot is.
      expect(family.map((s) => s.sizeBytes)).toEqual([0, 0])
      expect(family.map((s) => s.id).sort()).toEqual(standIn().snapshots().map((s) => s.snapshotId).sort())
      expect((await api(`/v1/snapshots/${family[0]!.id}`, { method: 'DELETE' })).status).toBe(204)
      expect(standIn().snapshots().map((s) => s.snapshotId)).toEqual([family[1]!.id])
      expect((await api(`/v1/snapshots/${family[0]!.id}`, { method: 'DELETE' })).status).toBe(404)
    } finally {
      rmSync(repo, { recursive: true, force: true })
    }
  })

  it("gives a later session of the tenant nothing of the session that made the snapshot: not its password, gateway token or repository token", async () => {
    const url = `${server.url}/private.git`
    const setup = 'echo set up > built.txt'
    const first = await startedSession({ repo: { url, token: TOKEN_1 }, setup })
    expect(first.steps).toContain('saving_snapshot')
    const [sandbox1] = standInSandboxesOf(standIn(), first.id)
    const secrets1 = [TOKEN_1, ...Object.values(sandboxCredentials(sandbox1!.home))]
    // The stand-in lists a snapshot once E2B's create call has answered, which on a loaded machine can come after the session said ready.
    // A snapshot that could not be taken is logged and the session goes on without it: that is the
    // failure to report here, rather than a wait that runs out.
    const snapshot = await waitFor('the snapshot the first session made', () => {
      const notTaken = logEvents(own.logFile).find((l) => l.msg === 'snapshot not taken' && l.sessionId === first.id)
      if (notTaken) throw new GiveUp(`the snapshot was not taken: ${String(notTaken.err)}`)
      return standIn().snapshots().find((s) => s.sourceSandboxId === sandbox1!.sandboxId)
    })
    await end(first.id)

    // The snapshot itself, as E2B keeps it: its disk and its memory hold none of them.
    for (const secret of secrets1) {
      const onDisk = spawnSync('grep', ['-rlaF', '--', secret, snapshot.disk], { encoding: 'utf8' })
      expect([onDisk.status, onDisk.stdout]).toEqual([1, ''])
      expect(JSON.stringify(snapshot.memory)).not.toContain(secret)
    }
    expect(existsSync(join(snapshot.disk, 'workspace', 'built.txt'))).toBe(true)

    const second = await startedSession({ repo: { url, token: TOKEN_2 }, setup, permissions: { bash: 'allow' } })
    expect(second.steps[1]).toMatch(/^snapshot /)
    expect(second.steps).not.toContain('setup')
    const [sandbox2] = standInSandboxesOf(standIn(), second.id)
    const own2 = sandboxCredentials(sandbox2!.home)

    // Its agent looks everywhere it can: environment, env file, processes and their environments,
    // and every file of the home and workspace (the patterns travel encoded, so that no command
    // line it prints holds them).
    const grepFor = (needles: string[]) => `$(echo ${Buffer.from(needles.join('\n')).toString('base64')} | base64 -d | grep -rlaF -f - "$HOME")`
    const look = [
      `echo "leaks:[${grepFor(secrets1)}]"`,
      `echo "own:[${grepFor([own2.password])}]"`,
      'env',
      'cat "$HOME/.sandbox-env"',
      // the sandbox's own processes (on the stand-in, those in its network namespace)
      'me=$(readlink /proc/self/ns/net); for p in /proc/[0-9]*; do [ "$(readlink $p/ns/net 2>/dev/null)" = "$me" ] && tr "\\0" "\\n" < $p/environ 2>/dev/null; done',
      'ps -eo args',
    ].join('; echo ---; ')
    const seen = await agentRuns(second.id, look)
    expect(seen).toContain(`OPENCODE_SERVER_PASSWORD=${own2.password}`)
    expect(seen).toContain('leaks:[]')
    expect(seen).toMatch(/own:\[\S+\/\.sandbox-env\]/)
    for (const secret of secrets1) expect(seen).not.toContain(secret)
    await end(second.id)
    await waitFor('both sandboxes to be gone', async () => standInSandboxesOf(standIn(), second.id).length === 0)
  }, 600_000)
})
