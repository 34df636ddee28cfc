import { describe, expect, it } from 'vitest'
import { canUseRepoWarmSandbox, canUseWarmSandbox } from './plan'
import { chooseRepoSandbox, parseWarmPools, poolKey, pushedPools, repoPoolFor, repoPoolWork, type PooledRow, type WarmPoolEntry } from './repo-pools'

const main: WarmPoolEntry = { repo: 'https://github.com/o/r', ref: 'main', setup: 'npm ci', size: 2 }
const noRef: WarmPoolEntry = { repo: 'https://github.com/o/other', size: 1 }
const entries = [main, noRef]
const sha = (c: string) => c.repeat(40)

describe('parseWarmPools', () => {
  it('reads a list of entries, and nothing when unset', () => {
    expect(parseWarmPools(JSON.stringify(entries))).toEqual({ entries })
    expect(parseWarmPools(undefined)).toEqual({ entries: [] })
    expect(parseWarmPools('  ')).toEqual({ entries: [] })
  })

  it('says what is wrong by path, never repeating a value', () => {
    expect(parseWarmPools('[{')).toEqual({ entries: [], error: 'WARM_POOLS is not valid JSON' })
    const bad = parseWarmPools(JSON.stringify([{ repo: 'https://tok-secret@github.com/o/r', size: 0, setup: 'echo hidden-value' }]))
    expect(bad.entries).toEqual([])
    expect(bad.error).toMatch(/^WARM_POOLS is not valid: /)
    expect(bad.error).toContain('0.repo')
    expect(bad.error).toContain('0.size')
    expect(bad.error).not.toContain('tok-secret')
    expect(bad.error).not.toContain('hidden-value')
    expect(parseWarmPools(JSON.stringify({ repo: 'x' })).error).toContain('(the list)')
    expect(parseWarmPools(JSON.stringify([main, { ...main, repo: 'https://GitHub.com/o/r.git', size: 1 }])).error).toContain('same repository')
    expect(parseWarmPools(JSON.stringify([{ ...main, extra: 1 }])).error).toBeDefined()
  })
})

describe('repoPoolFor', () => {
  it('matches exactly the repository (however spelled), ref and setup', () => {
    expect(repoPoolFor(entries, { repo: { url: 'https://github.com/o/r.git', ref: 'main' }, setup: 'npm ci' })).toBe(main)
    expect(repoPoolFor(entries, { repo: { url: 'https://github.com/o/r', ref: 'dev' }, setup: 'npm ci' })).toBeUndefined()
    expect(repoPoolFor(entries, { repo: { url: 'https://github.com/o/r', ref: 'main' }, setup: 'npm install' })).toBeUndefined()
    expect(repoPoolFor(entries, { repo: { url: 'https://github.com/o/r', ref: 'main' } })).toBeUndefined()
    // No ref is the default branch, which is not known to be `main` without asking the remote.
    expect(repoPoolFor(entries, { repo: { url: 'https://github.com/o/r' }, setup: 'npm ci' })).toBeUndefined()
    expect(repoPoolFor(entries, { repo: { url: 'https://github.com/o/other/' } })).toBe(noRef)
    expect(repoPoolFor(entries, {})).toBeUndefined()
  })

  it('leaves out sessions that need anything else of their own, but not a private repository token', () => {
    const spec = { repo: { url: main.repo, ref: 'main' }, setup: 'npm ci' }
    expect(canUseRepoWarmSandbox(spec, undefined, undefined)).toBe(true)
    expect(canUseRepoWarmSandbox({ ...spec, env: { A: '1' } }, undefined, undefined)).toBe(false)
    expect(canUseRepoWarmSandbox(spec, { TOKEN: 't' }, undefined)).toBe(false)
    expect(canUseRepoWarmSandbox(spec, undefined, undefined, { openai: 'k' })).toBe(false)
    expect(canUseRepoWarmSandbox({ ...spec, files: [{ path: 'a', content: 'b' }] }, undefined, undefined)).toBe(false)
    expect(canUseRepoWarmSandbox({ ...spec, runId: 'run_1' }, undefined, undefined)).toBe(false)
    expect(canUseWarmSandbox(spec, undefined, undefined)).toBe(false)
  })
})

describe('repoPoolWork', () => {
  const key = poolKey(main)
  const row = (id: string, createdAt: number, commit = sha('a'), extra: Partial<PooledRow> = {}): PooledRow => ({
    sandboxId: id,
    pool: key,
    fingerprint: 'fp',
    commit,
    createdAt,
    ...extra,
  })
  const opts = { now: 10_000_000, fingerprint: 'fp', maxAgeCeilingMs: 10_000_000, paused: new Set<string>() }

  it('fills each pool to its size', () => {
    const work = repoPoolWork(entries, [row('a', opts.now - 1000)], [], opts)
    expect(work.kill).toEqual([])
    expect(work.make).toEqual([key, poolKey(noRef)])
    expect(work.nextAt).toBe(opts.now - 1000 + 3_600_000)
  })

  it('kills at once what is too old, made under other settings, or of an entry no longer there, and what is beyond the size', () => {
    const rows = [
      row('old', opts.now - 3_600_000),
      row('other-settings', opts.now, sha('a'), { fingerprint: 'fp2' }),
      row('gone', opts.now, sha('a'), { pool: 'no-such-pool' }),
      row('a', opts.now - 3),
      row('b', opts.now - 2),
      row('c', opts.now - 1),
    ]
    const work = repoPoolWork([main], rows, [], opts)
    expect(work.kill.sort()).toEqual(['a', 'gone', 'old', 'other-settings'])
    expect(work.make).toEqual([])
  })

  it('keeps sandboxes behind a push serving until current ones replace them, then kills them', () => {
    const head = { pool: key, commit: sha('b'), at: opts.now - 500 }
    const behind = [row('a', opts.now - 2000), row('b', opts.now - 1000)]
    expect(repoPoolWork([main], behind, [head], opts)).toMatchObject({ kill: [], make: [key, key] })
    const oneNew = [...behind, row('n1', opts.now - 100, sha('b'))]
    expect(repoPoolWork([main], oneNew, [head], opts)).toMatchObject({ kill: [], make: [key] })
    const twoNew = [...oneNew, row('n2', opts.now - 50, sha('b'))]
    expect(repoPoolWork([main], twoNew, [head], opts)).toMatchObject({ kill: ['b', 'a'], make: [] })
    // Made after the push was heard, at a commit newer than the one it named: current, not behind.
    const newer = [row('n1', opts.now - 100, sha('c')), row('n2', opts.now - 50, sha('c'))]
    expect(repoPoolWork([main], newer, [head], opts)).toMatchObject({ kill: [], make: [] })
  })

  it('makes nothing for a paused pool, and bounds the age by the provider ceiling', () => {
    const work = repoPoolWork([main], [], [], { ...opts, paused: new Set([key]) })
    expect(work.make).toEqual([])
    expect(repoPoolWork([main], [row('a', opts.now - 1000)], [], { ...opts, maxAgeCeilingMs: 500 }).kill).toEqual(['a'])
  })

  it('hands out a current sandbox before one behind a push, newest first', () => {
    const head = { pool: key, commit: sha('b'), at: opts.now - 500 }
    const rows = [row('behind-new', opts.now - 600), row('current-old', opts.now - 400, sha('b')), row('current-new', opts.now - 100, sha('b'))]
    expect(chooseRepoSandbox(rows, head)?.sandboxId).toBe('current-new')
    expect(chooseRepoSandbox([rows[0]!], head)?.sandboxId).toBe('behind-new')
    expect(chooseRepoSandbox([], head)).toBeUndefined()
  })
})

describe('pushedPools', () => {
  const push = (ref: string, repository: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ ref, after: sha('d'), repository, ...extra })
  const repository = { clone_url: 'https://github.com/o/r.git', html_url: 'https://github.com/o/r', default_branch: 'main' }

  it('names the pools on the pushed repository and ref', () => {
    expect(pushedPools(entries, push('refs/heads/main', repository))).toEqual({ pools: [poolKey(main)], commit: sha('d') })
    const other = { clone_url: 'https://github.com/o/other.git', default_branch: 'trunk' }
    expect(pushedPools(entries, push('refs/heads/trunk', other))).toEqual({ pools: [poolKey(noRef)], commit: sha('d') })
  })

  it('ignores other refs, other repositories, deletions and what is not a push', () => {
    expect(pushedPools(entries, push('refs/heads/dev', repository))).toHaveProperty('ignored')
    expect(pushedPools(entries, push('refs/heads/trunk', { clone_url: 'https://github.com/o/other.git', default_branch: 'main' }))).toHaveProperty('ignored')
    expect(pushedPools(entries, push('refs/heads/main', { clone_url: 'https://github.com/x/r.git' }))).toHaveProperty('ignored')
    expect(pushedPools(entries, push('refs/heads/main', repository, { deleted: true }))).toEqual({ ignored: 'a ref was deleted' })
    expect(pushedPools(entries, { action: 'opened' })).toEqual({ ignored: 'not a push delivery' })
  })
})
