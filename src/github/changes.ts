import { BASE_COMMIT } from '../sandbox/git'

/**
 * A workspace's changes as git reports them, file by file, for a commit written through
 * GitHub's API: the path, what happened to it, and its mode (the executable bit, a symlink).
 */
export type FileChange = { path: string; status: 'added' | 'modified' | 'deleted'; mode: string }

/** Stages everything and lists it against the commit the workspace started from; that commit's sha first. */
export const CHANGES_COMMAND = `git add --all && base=${BASE_COMMIT} && echo "$base" && git diff --cached --raw -z --no-renames --no-ext-diff "$base"`

// Symlinks and submodules are left out: a file read through the sandbox follows a link, and a submodule is no file.
const MODES = new Set(['100644', '100755'])

/**
 * Reads CHANGES_COMMAND's output: HEAD's sha on the first line, then `git diff --raw -z` records
 * (`:oldmode newmode oldsha newsha status\0path\0`). A submodule or an unknown status is refused:
 * a commit through the API could not say it.
 */
export function parseChanges(output: string): { head: string; changes: FileChange[] } {
  const newline = output.indexOf('\n')
  const head = output.slice(0, newline).trim()
  if (!/^[0-9a-f]{40}$/.test(head)) throw new Error('the workspace has no commit to start from')
  const fields = output.slice(newline + 1).split('\0')
  const changes: FileChange[] = []
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i]!.replace(/^\n/, '')
    const path = fields[i + 1]!
    const m = /^:(\d{6}) (\d{6}) [0-9a-f]+ [0-9a-f]+ ([AMDT])$/.exec(meta)
    if (!m) throw new Error(`unexpected git output for ${JSON.stringify(path)}`)
    const [, oldMode, newMode, code] = m
    const status = code === 'A' ? 'added' : code === 'D' ? 'deleted' : 'modified'
    const mode = status === 'deleted' ? oldMode! : newMode!
    if (!MODES.has(mode)) throw new Error(`${path} is a symlink, a submodule or of an unknown kind (mode ${mode})`)
    changes.push({ path, status, mode })
  }
  return { head, changes }
}
