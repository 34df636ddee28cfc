import { base64 } from '../sandbox/file-content'
import type { GitHubApi } from './api'
import type { FileChange } from './changes'
import type { GitHubRepo } from './repo-url'

export type CommitAuthor = { name: string; email: string }

export const DEFAULT_AUTHOR: CommitAuthor = { name: 'opencode', email: 'opencode@users.noreply.github.com' }

/** GITHUB_COMMIT_AUTHOR as `Name <email>`; anything else is the default. */
export function parseAuthor(setting: string | undefined): CommitAuthor {
  const m = /^\s*([^<>]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(setting ?? '')
  return m ? { name: m[1]!, email: m[2]! } : DEFAULT_AUTHOR
}

/** A file's content as the workspace gives it: text as is, anything else base64. */
export type FileContent = { type: 'text' | 'binary'; content: string }

export type TreeEntry = { path: string; mode: string; type: 'blob'; sha: string | null }

/** The new tree's entries over the base tree: a blob per written file, `sha: null` for a deleted one. */
export function treeEntries(changes: FileChange[], blobs: Map<string, string>): TreeEntry[] {
  return changes.map((c) => ({ path: c.path, mode: c.mode, type: 'blob', sha: c.status === 'deleted' ? null : blobs.get(c.path)! }))
}

export type CommitInput = {
  /** the commit the workspace started from; the new commit's only parent */
  parent: string
  changes: FileChange[]
  read: (path: string) => Promise<FileContent>
  message: string
  author: CommitAuthor
}

/**
 * One commit of `changes` on `parent` through GitHub's Git Data API: a blob per file (base64),
 * a tree on the parent's tree, the commit. Refs are the caller's. Returns the commit's sha.
 */
export async function writeCommit(api: GitHubApi, repo: GitHubRepo, input: CommitInput): Promise<string> {
  const path = `/repos/${repo.owner}/${repo.repo}/git`
  const parent = await api.request<{ tree: { sha: string } }>('GET', `${path}/commits/${input.parent}`)
  const blobs = new Map<string, string>()
  // One at a time: a file may be megabytes, and GitHub throttles bursts of writes.
  for (const change of input.changes) {
    if (change.status === 'deleted') continue
    const file = await input.read(change.path)
    const content = file.type === 'text' ? base64(new TextEncoder().encode(file.content)) : file.content
    const blob = await api.request<{ sha: string }>('POST', `${path}/blobs`, { content, encoding: 'base64' })
    blobs.set(change.path, blob.sha)
  }
  const tree = await api.request<{ sha: string }>('POST', `${path}/trees`, { base_tree: parent.tree.sha, tree: treeEntries(input.changes, blobs) })
  const stamp = { ...input.author, date: new Date().toISOString() }
  const commit = await api.request<{ sha: string }>('POST', `${path}/commits`, {
    message: input.message,
    tree: tree.sha,
    parents: [input.parent],
    author: stamp,
    committer: stamp,
  })
  return commit.sha
}

