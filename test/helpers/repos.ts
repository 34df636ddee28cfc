import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A throwaway git repository with one commit of `files` on `main`; `git(repo, ...)` adds more. */
export function fixtureRepo(name: string, files: Record<string, string>): string {
  const repo = mkdtempSync(join(tmpdir(), `osw-${name}-`))
  git(repo, 'init', '--quiet', '--initial-branch=main')
  commitFiles(repo, files, 'first')
  return repo
}

export function git(repo: string, ...args: string[]) {
  execFileSync('git', args, { cwd: repo })
}

export function commitFiles(repo: string, files: Record<string, string>, message: string) {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(repo, path), content)
  git(repo, 'add', '.')
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', message)
}
