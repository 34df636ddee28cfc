import { z } from 'zod'
import { Repo } from '../contracts/fields'
import type { SessionSpec } from '../contracts'

/** How long a pooled repository sandbox serves before it is replaced, unless its entry says otherwise. */
export const DEFAULT_REPO_POOL_MAX_AGE_SECONDS = 3600

/** One entry of WARM_POOLS: `size` ready sandboxes on `repo` at `ref` (its default branch without one), `setup` run. */
export const WarmPoolEntry = z
  .object({
    repo: Repo.shape.url,
    ref: Repo.shape.ref,
    setup: z.string().min(1).max(10_000).optional(),
    size: z.number().int().min(1).max(20),
    maxAgeSeconds: z.number().int().min(60).max(86_400).optional(),
  })
  .strict()
export type WarmPoolEntry = z.infer<typeof WarmPoolEntry>

const WarmPools = z
  .array(WarmPoolEntry)
  .max(50)
  .refine((entries) => new Set(entries.map(poolKey)).size === entries.length, 'two entries name the same repository, ref and setup')

/**
 * WARM_POOLS read: no entries when unset; the reason when it is not JSON or not a list of
 * entries. The reason names paths and rules, never a value (a setup command may hold anything).
 */
export function parseWarmPools(text: string | undefined): { entries: WarmPoolEntry[]; error?: string } {
  if (!text?.trim()) return { entries: [] }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { entries: [], error: 'WARM_POOLS is not valid JSON' }
  }
  const parsed = WarmPools.safeParse(json)
  if (parsed.success) return { entries: parsed.data }
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.length ? i.path.join('.') : '(the list)'}: ${i.message}`)
  return { entries: [], error: `WARM_POOLS is not valid: ${issues.join('; ')}` }
}

/**
 * A repository URL as two spellings of one repository agree on it: http(s) hosts in lower case,
 * no trailing slash, no `.git` (GitHub's push deliveries name `https://github.com/o/r` and its `.git`).
 */
export function normalRepoUrl(url: string): string {
  const trimmed = url.trim().replace(/\/+$/, '').replace(/\.git$/, '')
  const web = /^(https?):\/\/([^/]+)(.*)$/i.exec(trimmed)
  return web ? `${web[1]!.toLowerCase()}://${web[2]!.toLowerCase()}${web[3]}` : trimmed
}

/** What a pooled sandbox is, and what a session must ask for exactly to take one. */
export function poolKey(p: { repo: string; ref?: string; setup?: string }): string {
  return JSON.stringify([normalRepoUrl(p.repo), p.ref ?? '', p.setup ?? ''])
}

/**
 * The entry whose sandboxes a session's repository, ref and setup are, if any. That the session
 * needs nothing else of its own in the sandbox is canUseRepoWarmSandbox's to say.
 */
export function repoPoolFor(entries: WarmPoolEntry[], spec: SessionSpec): WarmPoolEntry | undefined {
  if (!spec.repo) return undefined
  const wanted = poolKey({ repo: spec.repo.url, ref: spec.repo.ref, setup: spec.setup })
  return entries.find((e) => poolKey(e) === wanted)
}

const maxAgeMsOf = (entry: WarmPoolEntry, ceilingMs: number) => Math.min((entry.maxAgeSeconds ?? DEFAULT_REPO_POOL_MAX_AGE_SECONDS) * 1000, ceilingMs)

/** A ready pooled sandbox, as the pool's refills see it. */
export type PooledRow = { sandboxId: string; pool: string; fingerprint: string; commit: string; createdAt: number }

/** The newest commit a push delivery announced for a pool, and when it was heard. */
export type PoolHead = { pool: string; commit: string; at: number }

/**
 * Made before a push to another commit was heard: its workspace is behind. One made after it is
 * not, whatever its commit (a later push may not have been delivered yet).
 */
export function behindHead(row: PooledRow, head: PoolHead | undefined): boolean {
  return head !== undefined && head.commit !== row.commit && row.createdAt < head.at
}

export type RepoPoolWork = {
  /** to kill now */
  kill: string[]
  /** the pools (keys) short of ready sandboxes, each once per missing sandbox */
  make: string[]
  /** when the oldest sandbox kept reaches its age (the next refresh by schedule), if any is kept */
  nextAt: number | null
}

/**
 * What the refills must do. Killed at once: sandboxes of entries no longer configured, made under
 * other settings (`fingerprint`), or past their age. Sandboxes behind a pushed commit keep serving
 * (a session fetches and checks out) until as many current ones are ready as the entry's size,
 * then go; so do any beyond the size. `paused` pools (refills failing) get nothing made.
 */
export function repoPoolWork(
  entries: WarmPoolEntry[],
  rows: PooledRow[],
  heads: PoolHead[],
  opts: { now: number; fingerprint: string; maxAgeCeilingMs: number; paused: Set<string> },
): RepoPoolWork {
  const byKey = new Map(entries.map((e) => [poolKey(e), e]))
  const headOf = new Map(heads.map((h) => [h.pool, h]))
  const kill: string[] = []
  const make: string[] = []
  let nextAt: number | null = null
  const live = new Map<string, PooledRow[]>()
  for (const row of rows) {
    const entry = byKey.get(row.pool)
    const expiresAt = entry ? row.createdAt + maxAgeMsOf(entry, opts.maxAgeCeilingMs) : 0
    if (!entry || row.fingerprint !== opts.fingerprint || expiresAt <= opts.now) {
      kill.push(row.sandboxId)
      continue
    }
    live.set(row.pool, [...(live.get(row.pool) ?? []), row])
  }
  for (const [key, entry] of byKey) {
    const mine = (live.get(key) ?? []).sort((a, b) => b.createdAt - a.createdAt)
    const current = mine.filter((r) => !behindHead(r, headOf.get(key)))
    const behind = mine.filter((r) => behindHead(r, headOf.get(key)))
    const kept = [...current.slice(0, entry.size), ...(current.length >= entry.size ? [] : behind)]
    for (const r of mine) if (!kept.includes(r)) kill.push(r.sandboxId)
    for (const r of kept) nextAt = Math.min(nextAt ?? Infinity, r.createdAt + maxAgeMsOf(entry, opts.maxAgeCeilingMs))
    if (!opts.paused.has(key)) for (let n = current.length; n < entry.size; n++) make.push(key)
  }
  return { kill, make, nextAt }
}

/**
 * Which pooled sandbox a session takes: one at the newest commit heard of, newest first, so a
 * session rarely has a checkout and setup to do.
 */
export function chooseRepoSandbox<T extends PooledRow>(rows: T[], head: PoolHead | undefined): T | undefined {
  return [...rows].sort((a, b) => Number(behindHead(a, head)) - Number(behindHead(b, head)) || b.createdAt - a.createdAt)[0]
}

const Push = z.object({
  ref: z.string(),
  after: z.string().regex(/^[0-9a-f]{40,64}$/),
  deleted: z.boolean().optional(),
  repository: z.object({
    clone_url: z.string().optional(),
    html_url: z.string().optional(),
    ssh_url: z.string().optional(),
    default_branch: z.string().optional(),
  }),
})

/**
 * The pools a GitHub `push` delivery moves: those on its repository (by any URL the delivery
 * gives) whose ref is the pushed branch or tag, or, without a ref, the default branch it pushed.
 */
export function pushedPools(entries: WarmPoolEntry[], body: unknown): { pools: string[]; commit: string } | { ignored: string } {
  const parsed = Push.safeParse(body)
  if (!parsed.success) return { ignored: 'not a push delivery' }
  const push = parsed.data
  if (push.deleted) return { ignored: 'a ref was deleted' }
  const urls = new Set([push.repository.clone_url, push.repository.html_url, push.repository.ssh_url].filter((u) => u !== undefined).map(normalRepoUrl))
  const name = push.ref.replace(/^refs\/(heads|tags)\//, '')
  const branch = push.ref.startsWith('refs/heads/') ? name : undefined
  const pools = entries
    .filter((e) => urls.has(normalRepoUrl(e.repo)))
    .filter((e) => (e.ref === undefined ? branch !== undefined && branch === push.repository.default_branch : e.ref === name || e.ref === push.ref))
    .map(poolKey)
  return pools.length > 0 ? { pools, commit: push.after } : { ignored: 'no warm pool is on this repository and ref' }
}
