import { shellQuote } from './provider'

/**
 * The commit a workspace started from, marked when it was cloned (or brought up to date from a
 * snapshot): what the agent changed is measured from it, commits the agent made itself included,
 * and a commit written through GitHub's API has it as parent (a commit of the agent's own exists
 * only in the sandbox).
 */
export const BASE_REF = 'refs/sandbox/base'

/** Marks HEAD as the base, in the repository at `dir` (the current folder without one). */
export function markBase(dir?: string): string {
  return `git ${dir ? `-C ${shellQuote(dir)} ` : ''}update-ref ${BASE_REF} HEAD`
}

/** The base as a shell word: the mark, or HEAD in a workspace cloned before there was one. */
export const BASE_COMMIT = `$(git rev-parse --verify --quiet ${BASE_REF} || git rev-parse HEAD)`

/**
 * git's options for a command that authenticates with `credentials` (a file in
 * git-credential-store's format) alone: `credential.helper=` first drops any helper the
 * machine's git config has (which could keep the token), and `-c` before the subcommand leaves
 * the repository's own .git/config without it. Empty without credentials.
 */
export function gitAuth(credentials?: string): string {
  return credentials ? `-c credential.helper= -c ${shellQuote(`credential.helper=store --file=${shellQuote(credentials)}`)} ` : ''
}

/**
 * `command`, then the credentials file gone whatever it did: overwritten before it is removed, as
 * the blocks a removed file leaves on the disk would go into a snapshot of it (E2B's is the whole
 * disk). `rm` alone where `shred` is missing.
 */
export function thenForget(command: string, credentials?: string): string {
  if (!credentials) return command
  const file = shellQuote(credentials)
  return `{ ${command}; }; status=$?; shred -u -- ${file} 2>/dev/null || rm -f -- ${file}; exit $status`
}
