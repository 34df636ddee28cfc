import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, commitFiles, fixtureRepo, startedSession, TEST_KEYS } from './helpers'

/**
 * Repository snapshots on the local provider: a session on a repository and setup seen before
 * starts from the prepared workspace, moves it to its own ref's commit, and runs the setup only
 * when that commit is new; no snapshot crosses tenants, and `snapshot: false` opts out.
 */
describe('repository snapshots', () => {
  let repo: string
  let outside: string
  /** the setup leaves a line outside every sandbox each time it runs, and the commit it saw inside */
  let setup: string
  const runs = () => (existsSync(join(outside, 'runs')) ? readFileSync(join(outside, 'runs'), 'utf8').split('\n').filter(Boolean).length : 0)
  const head = () => execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim()

  beforeAll(() => {
    repo = fixtureRepo('snap', { 'README.md': 'snapshot fixture\n', 'package-lock.json': '{"v":1}\n' })
    outside = mkdtempSync(join(tmpdir(), 'osw-snap-runs-'))
    setup = `echo run >> ${join(outside, 'runs')} && git rev-parse HEAD > built.txt && cp package-lock.json installed.json`
  })
  afterAll(() => {
    rmSync(repo, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })

  /** Starts a session, waits until it can take a message, and says how its sandbox was made. */
  async function start(body: Record<string, unknown>, key: string = TEST_KEYS[0]) {
    const { id, steps } = await startedSession(body, key)
    const read = async (path: string) => (await api(`/v1/sessions/${id}/files?path=${path}`, { key })).body.content
    const facts = { steps, built: String(await read('built.txt')).trim(), installed: await read('installed.json') }
    expect((await api(`/v1/sessions/${id}`, { method: 'DELETE', key })).status).toBe(200)
    return facts
  }

  it('starts a second session from the snapshot without its setup, and honours a new commit, other tenants and snapshot: false', async () => {
    const first = await start({ repo: { url: repo }, setup })
    expect(first.steps).toEqual(['starting', 'creating', 'cloning', 'setup', 'saving_snapshot', 'starting_agent', 'ready'])
    expect([runs(), first.built]).toEqual([1, head()])

    const listed = await api('/v1/snapshots')
    expect(listed.status).toBe(200)
    const mine = (listed.body.items as { id: string; repo: { url: string }; commit: string; sizeBytes: number; ageSeconds: number }[]).filter(
      (s) => s.repo.url === repo,
    )
    expect(mine).toHaveLength(1)
    expect(mine[0]).toMatchObject({ commit: head(), sizeBytes: expect.any(Number), ageSeconds: expect.any(Number) })
    expect(mine[0]!.sizeBytes).toBeGreaterThan(0)

    // Same repository and setup, its ref named this time: the snapshot, no clone, no setup.
    const second = await start({ repo: { url: repo, ref: 'main' }, setup })
    expect(second.steps[1]).toMatch(/^snapshot \(\d+ s old\)$/)
    expect(second.steps).not.toContain('cloning')
    expect(second.steps).not.toContain('setup')
    expect(second.steps).toContain('updating')
    expect([runs(), second.built]).toEqual([1, head()])

    // The lockfile changed upstream: from the snapshot, checked out at the new commit, set up again.
    commitFiles(repo, { 'package-lock.json': '{"v":2}\n' }, 'lockfile')
    const third = await start({ repo: { url: repo }, setup })
    expect(third.steps[1]).toMatch(/^snapshot /)
    expect(third.steps).toEqual(expect.arrayContaining(['updating', 'setup', 'saving_snapshot']))
    expect([runs(), third.built, third.installed]).toEqual([2, head(), '{"v":2}\n'])

    // Another tenant never starts from this tenant's snapshot, nor sees it.
    const other = await start({ repo: { url: repo }, setup }, TEST_KEYS[1])
    expect(other.steps.slice(0, 4)).toEqual(['starting', 'creating', 'cloning', 'setup'])
    expect(runs()).toBe(3)
    const theirs = (await api('/v1/snapshots', { key: TEST_KEYS[1] })).body.items as { id: string; repo: { url: string } }[]
    const ours = (await api('/v1/snapshots')).body.items as { id: string; repo: { url: string } }[]
    expect(theirs.filter((s) => s.repo.url === repo)).toHaveLength(1)
    expect(theirs.some((s) => ours.some((o) => o.id === s.id))).toBe(false)

    // snapshot: false neither starts from one nor takes one.
    const optedOut = await start({ repo: { url: repo }, setup, snapshot: false })
    expect(optedOut.steps).toEqual(['starting', 'creating', 'cloning', 'setup', 'starting_agent', 'ready'])
    expect(runs()).toBe(4)

    // Retention kept the two newest of the family; one is deleted by hand, and is gone.
    const family = ((await api('/v1/snapshots')).body.items as { id: string; repo: { url: string } }[]).filter((s) => s.repo.url === repo)
    expect(family).toHaveLength(2)
    expect((await api(`/v1/snapshots/${family[0]!.id}`, { method: 'DELETE', key: TEST_KEYS[1] })).status).toBe(404)
    expect((await api(`/v1/snapshots/${family[0]!.id}`, { method: 'DELETE' })).status).toBe(204)
    expect(((await api('/v1/snapshots')).body.items as { id: string }[]).some((s) => s.id === family[0]!.id)).toBe(false)
    expect((await api(`/v1/snapshots/${family[0]!.id}`, { method: 'DELETE' })).status).toBe(404)
  })
})
