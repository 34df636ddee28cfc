import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  chooseSnapshot,
  commitOf,
  expiredSnapshots,
  refreshCommand,
  sessionThingsLate,
  setupWithoutEnv,
  snapshotFamily,
  wantsSnapshot,
  type SnapshotRow,
} from './snapshots'

const policy = { maxAgeMs: 3_600_000, keep: 2 }
const row = (id: string, family: string, createdAt: number, ref: string | null = 'main'): SnapshotRow => ({
  id,
  family,
  repoUrl: 'https://git.example/r',
  ref,
  commit: 'a'.repeat(40),
  setup: 'npm ci',
  sizeBytes: 1,
  createdAt,
})

describe('which sessions snapshot', () => {
  const repo = { url: 'https://git.example/r' }
  it('takes sessions on a repository, and none with environment, secrets or snapshot: false', () => {
    expect(wantsSnapshot({ repo, setup: 'npm ci' }, undefined, policy)).toBe(true)
    expect(wantsSnapshot({ setup: 'npm ci' }, undefined, policy)).toBe(false)
    expect(wantsSnapshot({ repo, snapshot: false }, undefined, policy)).toBe(false)
    expect(wantsSnapshot({ repo, env: { A: '1' } }, undefined, policy)).toBe(false)
    expect(wantsSnapshot({ repo }, { TOKEN: 't' }, policy)).toBe(false)
    expect(wantsSnapshot({ repo }, undefined, { ...policy, maxAgeMs: 0 })).toBe(false)
  })

  it('keys snapshots by tenant, repository, setup, files and image, not by ref', async () => {
    const base = { repo: { url: 'https://git.example/r', ref: 'main' }, setup: 'npm ci' }
    const key = await snapshotFamily('t1', base, 'local')
    expect(await snapshotFamily('t1', { ...base, repo: { ...base.repo, ref: 'dev' } }, 'local')).toBe(key)
    for (const other of [
      snapshotFamily('t2', base, 'local'),
      snapshotFamily('t1', { ...base, setup: 'npm install' }, 'local'),
      snapshotFamily('t1', { ...base, files: [{ path: 'a', content: 'b' }] }, 'local'),
      snapshotFamily('t1', { ...base, repo: { url: 'https://git.example/other' } }, 'local'),
      snapshotFamily('t1', base, 'e2b:v2'),
    ])
      expect(await other).not.toBe(key)
  })
})

describe('choosing and keeping snapshots', () => {
  const now = 10_000_000
  it('prefers the newest fresh one on the same ref, then the newest fresh one, and never a stale one', () => {
    const rows = [row('old-main', 'f', now - 5000), row('new-dev', 'f', now - 1000, 'dev'), row('stale', 'f', now - 4_000_000)]
    expect(chooseSnapshot(rows, 'main', now, policy.maxAgeMs)?.id).toBe('old-main')
    expect(chooseSnapshot(rows, 'other', now, policy.maxAgeMs)?.id).toBe('new-dev')
    expect(chooseSnapshot([row('stale', 'f', now - 4_000_000)], 'main', now, policy.maxAgeMs)).toBeNull()
  })

  it('removes what is past the age limit or beyond the newest `keep` of each family', () => {
    const rows = [row('f1', 'f', now - 1), row('f2', 'f', now - 2), row('f3', 'f', now - 3), row('g1', 'g', now - 4_000_000), row('h1', 'h', now)]
    expect(expiredSnapshots(rows, now, policy).map((r) => r.id).sort()).toEqual(['f3', 'g1'])
  })
})

describe('sessionThingsLate', () => {
  it("gives a sandbox its environment and home files after the snapshot only when the snapshot holds the whole disk", () => {
    expect(sessionThingsLate('disk', true)).toBe(true)
    expect(sessionThingsLate('disk', false)).toBe(false)
    expect(sessionThingsLate('workspace', true)).toBe(false)
    expect(sessionThingsLate(undefined, false)).toBe(false)
  })
})

describe('setupWithoutEnv', () => {
  it("runs the setup with none of the sandbox's own variables, in a process that never had them", () => {
    const command = setupWithoutEnv(`echo "[$SECRET_PW][$KEEP]" && tr '\\0' '\\n' < /proc/$$/environ | grep -c SECRET_PW || true`, ['SECRET_PW'])
    const r = spawnSync('bash', ['-c', command], { env: { ...process.env, SECRET_PW: 'hunter2', KEEP: 'k' }, encoding: 'utf8' })
    expect(r.stdout).toBe('[][k]\n0\n')
  })
})

describe('refreshCommand', () => {
  const dirs: string[] = []
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'osw-snap-'))
    dirs.push(d)
    return d
  }
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))
  const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', ...args], { cwd, encoding: 'utf8' }).trim()
  const commit = (repo: string, file: string, content: string) => {
    writeFileSync(join(repo, file), content)
    git(repo, 'add', '.')
    git(repo, 'commit', '--quiet', '-m', file)
    return git(repo, 'rev-parse', 'HEAD')
  }
  const refresh = (workspace: string, ref?: string) => spawnSync('bash', ['-c', refreshCommand(ref)], { cwd: workspace, encoding: 'utf8' })

  it("leaves a workspace at its ref's commit alone, and brings one behind to the branch, tag or default branch", () => {
    const upstream = tmp()
    git(upstream, 'init', '--quiet', '--initial-branch=main')
    const first = commit(upstream, 'a.txt', 'one')
    const workspace = join(tmp(), 'ws')
    git(tmp(), 'clone', '--quiet', upstream, workspace)
    writeFileSync(join(workspace, 'built.txt'), 'from setup')

    const same = refresh(workspace)
    expect([same.status, commitOf(same.stdout)]).toEqual([0, first])

    const second = commit(upstream, 'a.txt', 'two')
    git(upstream, 'tag', 'v1', first)
    git(upstream, 'checkout', '--quiet', '-b', 'dev')
    const dev = commit(upstream, 'b.txt', 'dev')
    git(upstream, 'checkout', '--quiet', 'main')

    const copy = join(tmp(), 'copy')
    cpSync(workspace, copy, { recursive: true })
    const moved = refresh(copy)
    expect([moved.status, commitOf(moved.stdout), git(copy, 'rev-parse', 'HEAD')]).toEqual([0, second, second])
    expect(git(copy, 'symbolic-ref', '--short', 'HEAD')).toBe('main')
    expect(readFileSync(join(copy, 'a.txt'), 'utf8')).toBe('two')

    const branch = refresh(copy, 'dev')
    expect([commitOf(branch.stdout), git(copy, 'symbolic-ref', '--short', 'HEAD')]).toEqual([dev, 'dev'])
    const tag = refresh(copy, 'v1')
    expect([commitOf(tag.stdout), git(copy, 'rev-parse', 'HEAD')]).toEqual([first, first])
    expect(refresh(copy, 'no-such-ref').status).not.toBe(0)
  })
})
