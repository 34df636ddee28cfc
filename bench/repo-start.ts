import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isIdle, readEvents } from './lib/sse'
import { benchStack, call, cleanupAll, endSession, type BenchStack } from './lib/stack'
import { ms, now, quantile, ratio } from './lib/stats'
import { startBenchmark, type StartResult } from './start'

export const REPO_START_SAMPLES = 3
/** The setup of the benchmark's repository: about 10 s, as a small `npm ci` takes. */
export const REPO_SETUP = 'sleep 10 && git rev-parse HEAD > built.txt'

export type RepoStartResult = {
  samples: number
  cold: { p50: number; p95: number }
  snapshot: { p50: number; p95: number; fromSnapshot: number }
}

/** One session on the repository, from POST to its first idle; whether it started from a snapshot. */
async function repoSession(stack: BenchStack, repo: string, snapshot: boolean): Promise<{ ms: number; fromSnapshot: boolean }> {
  const t0 = now()
  const { id } = await call(stack, '/v1/sessions', { repo: { url: repo }, setup: REPO_SETUP, snapshot })
  try {
    const events = await readEvents(stack.url, id as string, { after: 0, done: isIdle, keep: (e) => e.event === 'sandbox.status', timeoutMs: 300_000 })
    return { ms: events.at(-1)!.at - t0, fromSnapshot: events.some((e) => String(e.data.reason ?? '').startsWith('snapshot')) }
  } finally {
    await endSession(stack, id as string)
  }
}

/**
 * Session start on a repository whose setup takes about 10 s: cold (`snapshot: false`, clone and
 * setup every time) against from a snapshot (one unmeasured session takes it first), one session
 * at a time, alternating.
 */
export async function repoStartBenchmark(stack: BenchStack, samples = REPO_START_SAMPLES): Promise<RepoStartResult> {
  const repo = mkdtempSync(join(tmpdir(), 'osw-bench-repo-'))
  try {
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd: repo })
    git('init', '--quiet', '--initial-branch=main')
    writeFileSync(join(repo, 'README.md'), '# bench\n')
    git('add', '.')
    git('commit', '--quiet', '-m', 'first')
    await repoSession(stack, repo, true)
    const cold: number[] = []
    const warm: number[] = []
    let fromSnapshot = 0
    for (let i = 0; i < samples; i++) {
      cold.push((await repoSession(stack, repo, false)).ms)
      const s = await repoSession(stack, repo, true)
      warm.push(s.ms)
      if (s.fromSnapshot) fromSnapshot++
    }
    return {
      samples,
      cold: { p50: quantile(cold, 0.5), p95: quantile(cold, 0.95) },
      snapshot: { p50: quantile(warm, 0.5), p95: quantile(warm, 0.95), fromSnapshot },
    }
  } finally {
    rmSync(repo, { recursive: true, force: true })
  }
}

/** The result's rows for bench/RESULTS.md; with a bare warm start beside it, the ratio to that too. */
export function repoStartRows(r: RepoStartResult, bareWarm?: StartResult): string[][] {
  const load = `${r.samples} sessions, setup about 10 s`
  const rows = [
    ['repository start, cold (snapshot: false)', '', load, `p50 ${ms(r.cold.p50)}`, `p95 ${ms(r.cold.p95)}`, ''],
    ['repository start, from a snapshot', '', `${load}, ${r.snapshot.fromSnapshot} from a snapshot`, `p50 ${ms(r.snapshot.p50)}`, `p95 ${ms(r.snapshot.p95)}`, `p50 ${ratio(r.snapshot.p50, r.cold.p50)} of cold`],
  ]
  if (bareWarm) rows.push(['repository start from a snapshot / bare warm start', '', '', '', '', `p50 ${ratio(r.snapshot.p50, bareWarm.p50)}`])
  return rows
}

// `npx tsx bench/repo-start.ts`: this benchmark alone, beside a bare warm start on the same stack.
if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const stack = await benchStack({ WARM_POOL_SIZE: '2' })
    try {
      const warm = await startBenchmark(stack, REPO_START_SAMPLES)
      const result = await repoStartBenchmark(stack)
      const rows = [['bare session start, warm', 'WARM_POOL_SIZE=2', `${warm.samples} sessions, ${warm.fromPool} from the pool`, `p50 ${ms(warm.p50)}`, `p95 ${ms(warm.p95)}`, ''], ...repoStartRows(result, warm)]
      console.log(rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n'))
    } finally {
      await stack.dispose()
    }
  } finally {
    await cleanupAll()
  }
}
