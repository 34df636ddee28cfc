import { BASE_COMMIT, BASE_REF } from './git'
import { shellQuote } from './provider'

/**
 * The sandbox's side of a checkpoint: the workspace's changes written as one archive, and put
 * back onto a fresh clone. The archive is `git diff --binary` against the commit the workspace
 * started from, of a throwaway index with everything added: changed, new (minus ignored),
 * deleted, binary files and modes, the agent's own commits included, the real index untouched.
 */

/** Where a checkpoint's files wait in the sandbox: under the home, out of the workspace and its diffs. */
export const checkpointDir = (home: string) => `${home.replace(/\/$/, '')}/.checkpoint`

export const PATCH_FILE = 'workspace.patch.gz'
export const AGENT_FILE = 'agent.json.gz'

/**
 * Writes the archive (gzipped) to `dir`/PATCH_FILE, run in the workspace, and prints what
 * parseSaved reads. The throwaway index starts as a copy of the real one, so that git hashes only
 * files whose stat changed, not the whole tree of a large repository.
 */
export function saveCommand(dir: string): string {
  const d = shellQuote(dir)
  return [
    'set -o pipefail',
    `mkdir -p ${d}`,
    `base=${BASE_COMMIT} || exit 3`,
    'real=$(git rev-parse --git-path index) || exit 3',
    `export GIT_INDEX_FILE=${d}/index`,
    `{ cp "$real" "$GIT_INDEX_FILE" 2>/dev/null || git read-tree "$base"; } || exit 3`,
    'git add --all . || exit 4',
    `git diff --cached --binary --full-index --no-color --no-ext-diff --no-textconv --no-renames "$base" | gzip -c > ${d}/${PATCH_FILE} || exit 5`,
    `files=$(git diff --cached --name-only --no-renames -z "$base" | tr -cd '\\0' | wc -c) || exit 5`,
    'rm -f "$GIT_INDEX_FILE"',
    `printf 'base %s\\nfiles %s\\nbytes %s\\n' "$base" "$files" "$(wc -c < ${d}/${PATCH_FILE})"`,
  ].join('\n')
}

export type Saved = { base: string; filesChanged: number; bytes: number }

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/

/** saveCommand's output; undefined when it is not what the command prints (the agent may have changed the tools it runs). */
export function parseSaved(stdout: string): Saved | undefined {
  const fields = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/) as [string, string]),
  )
  const filesChanged = Number(fields.files)
  const bytes = Number(fields.bytes)
  if (!COMMIT.test(fields.base ?? '') || !Number.isInteger(filesChanged) || !Number.isInteger(bytes) || filesChanged < 0 || bytes < 0) return undefined
  return { base: fields.base!, filesChanged, bytes }
}

/**
 * Puts the archive in `dir` back onto the workspace, run in it. With `base` (a repository's
 * session), a clone that is at another commit (its ref moved on) goes back to it first. git
 * apply takes the whole archive or nothing.
 */
export function restoreCommand(dir: string, base?: string): string {
  if (base !== undefined && !COMMIT.test(base)) throw new Error('not a commit')
  const d = shellQuote(dir)
  const rebase = base
    ? [`if [ "$(git rev-parse HEAD)" != ${base} ]; then git reset --quiet --hard ${base} && git update-ref ${BASE_REF} HEAD || exit 6; fi`]
    : []
  return [
    'set -o pipefail',
    ...rebase,
    `gzip -dc ${d}/${PATCH_FILE} > ${d}/workspace.patch || exit 7`,
    `if [ -s ${d}/workspace.patch ]; then git apply --binary --whitespace=nowarn ${d}/workspace.patch || exit 8; fi`,
    `rm -f ${d}/workspace.patch ${d}/${PATCH_FILE}`,
  ].join('\n')
}

/**
 * Rolls a live workspace back to the archive in `dir`: back to the commit it started from
 * (`base`, a repository's; else the workspace's own mark), untracked files that are not ignored
 * gone, then the archive applied. What `.gitignore` ignores (dependencies, builds) stays.
 */
export function rollBackCommand(dir: string, base?: string): string {
  if (base !== undefined && !COMMIT.test(base)) throw new Error('not a commit')
  const d = shellQuote(dir)
  return [
    'set -o pipefail',
    `base=${base ?? BASE_COMMIT} || exit 6`,
    `git reset --quiet --hard "$base" && git clean -fdq && git update-ref ${BASE_REF} HEAD || exit 6`,
    `gzip -dc ${d}/${PATCH_FILE} > ${d}/workspace.patch || exit 7`,
    `if [ -s ${d}/workspace.patch ]; then git apply --binary --whitespace=nowarn ${d}/workspace.patch || exit 8; fi`,
    `rm -f ${d}/workspace.patch ${d}/${PATCH_FILE}`,
  ].join('\n')
}

/** Gives opencode the agent's record of the conversation back (`opencode import`), run in the workspace: opencode files it under this workspace. */
export function importCommand(dir: string): string {
  const d = shellQuote(dir)
  return `set -o pipefail\ngzip -dc ${d}/${AGENT_FILE} > ${d}/agent.json && opencode import ${d}/agent.json > /dev/null; status=$?\nrm -f ${d}/agent.json ${d}/${AGENT_FILE}\nexit $status`
}
