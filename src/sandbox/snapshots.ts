import type { SessionSpec } from '../contracts'
import { gitAuth, markBase, thenForget } from './git'
import { shellQuote } from './provider'

/** A workspace snapshot as a tenant's index keeps it: `id` is the provider's snapshot id. */
export type SnapshotRow = {
  id: string
  /** what must match for a session to start from it (see snapshotFamily) */
  family: string
  repoUrl: string
  ref: string | null
  commit: string
  setup: string | null
  sizeBytes: number
  createdAt: number
}

export type SnapshotPolicy = {
  /** older than this, a snapshot is neither used nor kept (SNAPSHOT_MAX_AGE_SECONDS) */
  maxAgeMs: number
  /** the newest this many of a family are kept (SNAPSHOTS_PER_REPO) */
  keep: number
}

const empty = (v: object | undefined) => v === undefined || Object.keys(v).length === 0

/**
 * Whether a session's prepared workspace may become, or come from, a snapshot. A session with
 * environment or secrets of its own is left out: its setup runs with them, and whatever it
 * writes from them must stay in that session. The snapshot is taken before opencode starts, and
 * its setup runs without the sandbox's environment (setupWithoutEnv), so nothing of the session
 * (password, gateway token) can be in it.
 */
export function wantsSnapshot(spec: SessionSpec, secretEnv: Record<string, string> | undefined, policy: SnapshotPolicy): boolean {
  return spec.repo !== undefined && spec.snapshot !== false && policy.maxAgeMs > 0 && empty(spec.env) && empty(secretEnv)
}

/**
 * The snapshot key less the commit: the tenant (a snapshot never crosses tenants: a private
 * repository's files are its tenant's), the repository, the setup, the files written before it,
 * and what the sandbox is made from. The ref is not in it: a snapshot on one branch is a good
 * start for another, after a fetch and a checkout.
 */
export async function snapshotFamily(tenant: string, spec: SessionSpec, image: string): Promise<string> {
  const key = JSON.stringify([tenant, spec.repo?.url ?? '', spec.setup ?? '', spec.files ?? [], image])
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * The snapshot a session starts from: the newest fresh one on its own ref, else the newest fresh
 * one of the family. Whether its commit is still the ref's is known only in the sandbox (after a
 * fetch), so a stale commit costs a checkout and the setup, never a wrong start.
 */
export function chooseSnapshot(rows: SnapshotRow[], ref: string | undefined, now: number, maxAgeMs: number): SnapshotRow | null {
  const fresh = rows.filter((r) => now - r.createdAt < maxAgeMs).sort((a, b) => b.createdAt - a.createdAt)
  return fresh.find((r) => r.ref === (ref ?? null)) ?? fresh[0] ?? null
}

/** What retention removes: past the age limit, or beyond the newest `keep` of their family. */
export function expiredSnapshots(rows: SnapshotRow[], now: number, policy: SnapshotPolicy): SnapshotRow[] {
  const seen = new Map<string, number>()
  return [...rows]
    .sort((a, b) => b.createdAt - a.createdAt)
    .filter((r) => {
      const rank = (seen.get(r.family) ?? 0) + 1
      seen.set(r.family, rank)
      return now - r.createdAt >= policy.maxAgeMs || rank > policy.keep
    })
}

/**
 * Brings a workspace restored from a snapshot to what the session asked for, printing the commit
 * it ends on. The ref is looked up as `git checkout` after a clone would: a branch (checked out
 * under its name, tracking origin's), else a tag or commit (detached); no ref means the remote's
 * default branch. Nothing moves when the commit is the snapshot's, so setup's own changes stay.
 */
export function refreshCommand(ref: string | undefined, credentials?: string): string {
  const git = `git ${gitAuth(credentials)}`
  const script = [
    'set -e',
    `ref=${shellQuote(ref ?? '')}`,
    `if [ -z "$ref" ]; then ref=$(${git}ls-remote --symref origin HEAD | sed -n 's|^ref: refs/heads/\\([^[:space:]]*\\)[[:space:]]*HEAD$|\\1|p' | head -n 1); fi`,
    '[ -n "$ref" ]',
    `${git}fetch --quiet --tags --force origin '+refs/heads/*:refs/remotes/origin/*'`,
    'if target=$(git rev-parse --verify --quiet "refs/remotes/origin/$ref^{commit}"); then branch=1; else target=$(git rev-parse --verify --quiet "$ref^{commit}"); branch=; fi',
    'if [ "$target" != "$(git rev-parse HEAD)" ]; then',
    '  if [ -n "$branch" ]; then git checkout --quiet --force -B "$ref" --track "origin/$ref"; else git checkout --quiet --force --detach "$target"; fi',
    'fi',
    markBase(),
    'echo "$target"',
  ].join('\n')
  const run = `bash -c ${shellQuote(script)}`
  return thenForget(run, credentials)
}

/** The commit a command printed last (refreshCommand, or `git rev-parse HEAD`), if it is one. */
export function commitOf(stdout: string): string | undefined {
  const last = stdout.trim().split('\n').pop() ?? ''
  return /^[0-9a-f]{40,64}$/.test(last) ? last : undefined
}

/**
 * The setup command run with none of the sandbox's own environment (opencode's password and
 * configuration, which holds the session's gateway token): what it writes into the workspace may
 * end up in a snapshot. `exec` leaves no shell behind whose /proc environ still holds them.
 */
export function setupWithoutEnv(setup: string, envNames: string[]): string {
  const unset = envNames.map((name) => `-u ${shellQuote(name)} `).join('')
  return `exec env ${unset}bash -c ${shellQuote(setup)}`
}

/**
 * Whether the session's own things (its environment, its home files such as skills) reach its
 * sandbox only once the snapshot is taken, instead of at create: when a snapshot holds the whole
 * disk (E2B), which would otherwise keep the env file (opencode's password, the gateway token) and
 * the home files for every later session of the tenant. A session that only starts from one is
 * told late too: whether its commit is new, and so whether it takes one, is known only after.
 */
export function sessionThingsLate(holds: 'workspace' | 'disk' | undefined, snapshotting: boolean): boolean {
  return snapshotting && holds === 'disk'
}

/** An age for people: `45 s`, `12 min`, `3 h`, `2 d`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  if (s < 172_800) return `${Math.round(s / 3600)} h`
  return `${Math.round(s / 86_400)} d`
}
