import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isIdle, readEvents } from './lib/sse'
import { benchStack, call, cleanupAll, endSession, onCleanup, type BenchStack } from './lib/stack'
import { ms, now, quantile, ratio, sleep } from './lib/stats'
import { startBenchmark, type StartResult } from './start'

export const REPO_START_SAMPLES = 3
/** The setup of the benchmark's repository: about 10 s, as a small `npm ci` takes. */
export const REPO_SETUP = 'sleep 10 && git rev-parse HEAD > built.txt'

export type RepoStartResult = {
  samples: number
  cold: { p50: number; p95: number }
  snapshot: { p50: number; p95: number; fromSnapshot: number }
  /** with the stack's WARM_POOLS on the repository (repoPoolSetting) */
  pool?: { p50: number; p95: number; fromPool: number }
}

/** The benchmark's repository: a local one with one commit on `main`; remove it when done. */
export function benchRepo(): string {
  const repo = mkdtempSync(join(tmpdir(), 'osw-bench-repo-'))
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd: repo })
  git('init', '--quiet', '--initial-branch=main')
  writeFileSync(join(repo, 'README.md'), '# bench\n')
  git('add', '.')
  git('commit', '--quiet', '-m', 'first')
  return repo
}

export const removeBenchRepo = (repo: string) => rmSync(repo, { recursive: true, force: true })

/**
 * WARM_POOLS for a stack whose repository pool serves `repo` at `main` with the benchmark's
 * setup. Sessions of the cold and snapshot rows name no ref, so they never take from it.
 */
export const repoPoolSetting = (repo: string) => JSON.stringify([{ repo, ref: 'main', setup: REPO_SETUP, size: 2 }])

/** One session on the repository, from POST to its first idle; whether it started from a snapshot, or from the pool. */
async function repoSession(stack: BenchStack, body: Record<string, unknown>): Promise<{ ms: number; fromSnapshot: boolean; fromPool: boolean }> {
  const t0 = now()
  const { id } = await call(stack, '/v1/sessions', { setup: REPO_SETUP, ...body })
  try {
    const events = await readEvents(stack.url, id as string, { after: 0, done: isIdle, keep: (e) => e.event === 'sandbox.status', timeoutMs: 300_000 })
    return {
      ms: events.at(-1)!.at - t0,
      fromSnapshot: events.some((e) => String(e.data.reason ?? '').startsWith('snapshot')),
      fromPool: events.some((e) => e.data.reason === 'warm'),
    }
  } finally {
    await endSession(stack, id as string)
  }
}

/** Before a pool sample: wait (up to two minutes) for the repository pool to hold a ready sandbox again. */
async function waitForRepoPool(stack: BenchStack) {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    const health = (await (await fetch(`${stack.url}/health`)).json()) as { repoPools?: { ready: number } }
    if ((health.repoPools?.ready ?? 0) >= 1) return
    await sleep(200)
  }
}

/**
 * Session start on a repository whose setup takes about 10 s: cold (`snapshot: false`, clone and
 * setup every time) against from a snapshot (one unmeasured session takes it first), one session
 * at a time, alternating.
 */
export async function repoStartBenchmark(stack: BenchStack, repo: string, samples = REPO_START_SAMPLES): Promise<RepoStartResult> {
  const pooled = stack.settings.WARM_POOLS !== undefined
  await repoSession(stack, { repo: { url: repo } })
  const cold: number[] = []
  const warm: number[] = []
  const pool: number[] = []
  let fromSnapshot = 0
  let fromPool = 0
  for (let i = 0; i < samples; i++) {
    cold.push((await repoSession(stack, { repo: { url: repo }, snapshot: false })).ms)
    const s = await repoSession(stack, { repo: { url: repo } })
    warm.push(s.ms)
    if (s.fromSnapshot) fromSnapshot++
    if (pooled) {
      await waitForRepoPool(stack)
      const p = await repoSession(stack, { repo: { url: repo, ref: 'main' }, snapshot: false })
      pool.push(p.ms)
      if (p.fromPool) fromPool++
    }
  }
  return {
    samples,
    cold: { p50: quantile(cold, 0.5), p95: quantile(cold, 0.95) },
    snapshot: { p50: quantile(warm, 0.5), p95: quantile(warm, 0.95), fromSnapshot },
    ...(pooled && { pool: { p50: quantile(pool, 0.5), p95: quantile(pool, 0.95), fromPool } }),
  }
}

/** The result's rows for bench/RESULTS.md; with a bare warm start beside it, the ratio to that too. */
export function repoStartRows(r: RepoStartResult, bareWarm?: StartResult): string[][] {
  const load = `${r.samples} sessions, setup about 10 s`
  const rows = [
    ['repository start, cold (snapshot: false)', '', load, `p50 ${ms(r.cold.p50)}`, `p95 ${ms(r.cold.p95)}`, ''],
    ['repository start, from a snapshot', '', `${load}, ${r.snapshot.fromSnapshot} from a snapshot`, `p50 ${ms(r.snapshot.p50)}`, `p95 ${ms(r.snapshot.p95)}`, `p50 ${ratio(r.snapshot.p50, r.cold.p50)} of cold`],
  ]
  if (r.pool) {
    const p = r.pool
    rows.push(['repository start, from a repository warm pool', 'WARM_POOLS size 2', `${load}, ${p.fromPool} from the pool`, `p50 ${ms(p.p50)}`, `p95 ${ms(p.p95)}`, `p50 ${ratio(p.p50, r.cold.p50)} of cold`])
  }
  if (bareWarm) rows.push(['repository start from a snapshot / bare warm start', '', '', '', '', `p50 ${ratio(r.snapshot.p50, bareWarm.p50)}`])
  if (bareWarm && r.pool) {
    rows.push(['repository start from a repository pool / bare warm start', '', '', '', '', `p50 ${ratio(r.pool.p50, bareWarm.p50)}, p95 ${ratio(r.pool.p95, bareWarm.p95)}`])
  }
  return rows
}

// `npx tsx bench/repo-start.ts`: this benchmark alone, beside a bare warm start on the same stack.
if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const repo = benchRepo()
    onCleanup(() => removeBenchRepo(repo))
    const stack = await benchStack({ WARM_POOL_SIZE: '2', WARM_POOLS: repoPoolSetting(repo) })
    try {
      const warm = await startBenchmark(stack, REPO_START_SAMPLES)
      const result = await repoStartBenchmark(stack, repo)
      const rows = [['bare session start, warm', 'WARM_POOL_SIZE=2', `${warm.samples} sessions, ${warm.fromPool} from the pool`, `p50 ${ms(warm.p50)}`, `p95 ${ms(warm.p95)}`, ''], ...repoStartRows(result, warm)]
      console.log(rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n'))
    } finally {
      await stack.dispose()
    }
  } finally {
    await cleanupAll()
  }
}
