/**
 * Whether a session may take a pooled sandbox of a repository (WARM_POOLS): the pool cloned it
 * with the deployment's credential, so holding the copy proves nothing about the session. Before
 * it takes one, the Worker asks the git host what the session's own clone would: git's smart HTTP
 * ref advertisement, with the session's token (user `x-access-token`, as its credential file
 * gives git) or with none. A session that may not read the repository starts as without a pool,
 * and the pooled sandbox stays for one that may.
 */

/** The request that asks; its answer is readable()'s to judge. */
export type ReadCheck = { url: string; headers: Record<string, string> }

/**
 * The question to ask before a session takes a sandbox of the pool on `repoUrl`, or null when
 * there is none to ask: the pool cloned without a credential and the session brings none (anyone
 * may read what both read anonymously), or git reaches the repository by other means than http(s)
 * (ssh, a path), where a token plays no part. A session with a token is always asked, even on a
 * public repository: git sends the token, and a host refuses a wrong one.
 */
export function repoReadCheck(repoUrl: string, opts: { pooledWithCredential: boolean; token?: string }): ReadCheck | null {
  if (!opts.pooledWithCredential && opts.token === undefined) return null
  if (!/^https?:\/\//i.test(repoUrl)) return null
  const url = new URL(repoUrl)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/info/refs`
  url.search = '?service=git-upload-pack'
  url.hash = ''
  return {
    url: url.toString(),
    headers: {
      // Some hosts answer only git clients with the smart protocol.
      'user-agent': 'git/2 (opencode-sandbox-worker)',
      ...(opts.token !== undefined && { authorization: `Basic ${btoa(`x-access-token:${opts.token}`)}` }),
    },
  }
}

/** The host's answer allows the read: its ref advertisement, and nothing else (401, 404, a redirect to a login page). */
export function readable(status: number, contentType: string | null): boolean {
  return status === 200 && (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-git-upload-pack-advertisement'
}
