import { shellQuote } from './provider'

/**
 * git's options for a command that authenticates with `credentials` (a file in
 * git-credential-store's format) alone: `credential.helper=` first drops any helper the
 * machine's git config has (which could keep the token), and `-c` before the subcommand leaves
 * the repository's own .git/config without it. Empty without credentials.
 */
export function gitAuth(credentials?: string): string {
  return credentials ? `-c credential.helper= -c ${shellQuote(`credential.helper=store --file=${shellQuote(credentials)}`)} ` : ''
}
