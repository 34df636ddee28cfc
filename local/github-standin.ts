import { execFile } from 'node:child_process'
import { createVerify, randomBytes, type KeyObject } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { backend } from './git-http'

/**
 * A stand-in for GitHub: the REST endpoints the Worker calls (comments, pull requests, the Git
 * Data API, a GitHub App's installation tokens) and git over smart HTTP, on 127.0.0.1. Git data
 * is real: blobs, trees, commits and refs are written into bare repositories under `root`
 * (`<owner>/<repo>.git`) with git itself, so a test reads the result with git. Every call must
 * carry a token it accepts: one of `tokens`, an installation token it minted, or (for the App's
 * own endpoints) a JWT signed by the App's key.
 */

export type GitHubStandInOptions = {
  root: string
  /** personal tokens it accepts (GITHUB_TOKEN) */
  tokens?: string[]
  /** a GitHub App: JWTs must be signed by this key and name this id */
  app?: { id: string; publicKey: KeyObject }
}

export type Comment = { id: number; repo: string; issue: number; body: string; edits: string[] }
export type Pull = {
  number: number
  repo: string
  title: string
  body: string
  head: string
  base: string
  draft: boolean
  /** a pull request from a fork: the repository its head branch is in */
  headRepo?: string
}
/** An inline review comment on a pull request's diff; `inReplyTo` is its thread's first comment. */
export type ReviewComment = {
  id: number
  repo: string
  pull: number
  body: string
  path: string
  line?: number
  inReplyTo?: number
  author_association: string
  user: { login: string; type: string }
  edits: string[]
}
/** A check's annotations, which a fix run's prompt is made from. */
export type Annotation = { path: string; start_line: number; end_line: number; annotation_level: string; message: string }
export type SuiteCheckRun = { name: string; conclusion: string; output?: { title?: string; summary?: string; text?: string }; annotations?: Annotation[] }
export type WorkflowJob = { name: string; conclusion: string; log: string }
export type Call = { method: string; path: string; credential: 'token' | 'installation' | 'jwt' | 'none' | 'bad'; status: number }

export type GitHubStandIn = {
  url: string
  comments: Comment[]
  pulls: Pull[]
  reviewComments: ReviewComment[]
  calls: Call[]
  /** every installation token it minted */
  minted: string[]
  /** a bare repository with `files` in one commit on `main`; a public one is cloned without a token */
  createRepo(owner: string, repo: string, files: Record<string, string>, opts?: { public?: boolean }): Promise<string>
  /** where `owner/repo` lives on disk */
  repoDir(owner: string, repo: string): string
  cloneUrl(owner: string, repo: string): string
  /** a pull request as if opened by someone (from a fork with `headRepo`) */
  addPull(pull: Omit<Pull, 'number'>): Pull
  /** a review comment as if written by someone; its id comes from the same sequence as ours */
  addReviewComment(comment: Omit<ReviewComment, 'id' | 'edits'>): ReviewComment
  /** a check run of `owner/repo` with these annotations; its id */
  addCheckRun(repo: string, annotations: Annotation[]): number
  /** a check suite of `owner/repo` and its check runs (each with its annotations); its id */
  addCheckSuite(repo: string, checkRuns: SuiteCheckRun[]): number
  /** a GitHub Actions workflow run of `owner/repo` and its jobs, each with its log; its id */
  addWorkflowRun(repo: string, jobs: WorkflowJob[]): number
  git(owner: string, repo: string, args: string[], input?: string | Buffer, env?: Record<string, string>): Promise<string>
  close(): Promise<void>
}

class Redirect extends Error {
  constructor(readonly location: string) {
    super(location)
  }
}

class Answer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function run(cwd: string, args: string[], input?: string | Buffer, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, env: { PATH: process.env.PATH, HOME: cwd, ...env }, encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Answer(422, `git ${args[0]} failed: ${stderr.toString().trim()}`))
      else resolve(stdout.toString())
    })
    // git may exit without reading its input (an error, a command that takes none).
    child.stdin!.on('error', () => {})
    child.stdin!.end(input ?? '')
  })
}

function verifyJwt(jwt: string, app: NonNullable<GitHubStandInOptions['app']>): boolean {
  const [head, claims, signature] = jwt.split('.')
  if (!head || !claims || !signature) return false
  if (!createVerify('RSA-SHA256').update(`${head}.${claims}`).verify(app.publicKey, Buffer.from(signature, 'base64url'))) return false
  const c = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss?: unknown; exp?: number; iat?: number }
  const now = Date.now() / 1000
  return String(c.iss) === app.id && typeof c.exp === 'number' && c.exp > now && c.exp - (c.iat ?? 0) <= 600
}

export async function startGitHubStandIn(opts: GitHubStandInOptions): Promise<GitHubStandIn> {
  const comments: Comment[] = []
  const pulls: Pull[] = []
  const reviewComments: ReviewComment[] = []
  const checkRuns = new Map<number, { repo: string; annotations: Annotation[] }>()
  const checkSuites = new Map<number, { repo: string; runs: (SuiteCheckRun & { id: number })[] }>()
  const workflowRuns = new Map<number, { repo: string; jobs: (WorkflowJob & { id: number })[] }>()
  const jobLogs = new Map<number, { repo: string; log: string }>()
  const calls: Call[] = []
  const minted: string[] = []
  const installations = new Map<string, number>()
  const publicRepos = new Set<string>()
  let nextId = 1000
  let nextNumber = 100
  let url = ''

  const repoDir = (owner: string, repo: string) => join(opts.root, owner, `${repo}.git`)
  const git = (owner: string, repo: string, args: string[], input?: string | Buffer, env?: Record<string, string>) =>
    run(repoDir(owner, repo), args, input, env)
  const cloneUrl = (owner: string, repo: string) => `${url}/${owner}/${repo}.git`

  const credentialOf = (req: IncomingMessage): Call['credential'] => {
    const header = req.headers.authorization ?? ''
    let given = ''
    if (header.startsWith('Bearer ')) given = header.slice(7)
    else if (header.startsWith('token ')) given = header.slice(6)
    else if (header.startsWith('Basic ')) {
      const pair = Buffer.from(header.slice(6), 'base64').toString()
      given = pair.slice(pair.indexOf(':') + 1)
    }
    if (!given) return 'none'
    if (opts.tokens?.includes(given)) return 'token'
    if (minted.includes(given)) return 'installation'
    if (opts.app && given.split('.').length === 3 && verifyJwt(given, opts.app)) return 'jwt'
    return 'bad'
  }

  const pullView = (p: Pull) => {
    const [owner, repo] = (p.headRepo ?? p.repo).split('/') as [string, string]
    return {
      number: p.number,
      html_url: `${url}/${p.repo}/pull/${p.number}`,
      title: p.title,
      draft: p.draft,
      head: { ref: p.head, repo: { full_name: p.headRepo ?? p.repo, clone_url: cloneUrl(owner, repo) } },
      base: { ref: p.base },
    }
  }

  const refSha = async (owner: string, repo: string, ref: string) => {
    try {
      return (await git(owner, repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim()
    } catch {
      return undefined
    }
  }

  async function api(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>, credential: Call['credential']): Promise<[number, unknown]> {
    const app = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path)
    const installation = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(path)
    if (app || installation) {
      if (credential !== 'jwt') throw new Answer(401, 'A JSON web token could not be decoded')
      if (installation) {
        const key = `${installation[1]}/${installation[2]}`
        if (!installations.has(key)) installations.set(key, nextId++)
        return [200, { id: installations.get(key) }]
      }
      const token = `ghs_${randomBytes(18).toString('hex')}`
      minted.push(token)
      return [201, { token, expires_at: new Date(Date.now() + 3600_000).toISOString() }]
    }
    if (credential !== 'token' && credential !== 'installation') throw new Answer(401, 'Bad credentials')
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path)
    if (!m) throw new Answer(404, 'Not Found')
    const [, owner, repo, rest = ''] = m as unknown as [string, string, string, string | undefined]
    const slug = `${owner}/${repo}`
    const route = `${method} ${rest}`
    let r: RegExpExecArray | null
    if (route === 'GET ') return [200, { full_name: slug, default_branch: 'main', clone_url: cloneUrl(owner, repo), private: true }]
    if ((r = /^POST \/issues\/(\d+)\/comments$/.exec(route))) {
      const comment = { id: nextId++, repo: slug, issue: Number(r[1]), body: String(body.body), edits: [] }
      comments.push(comment)
      return [201, { id: comment.id, html_url: `${url}/${slug}/issues/${r[1]}#issuecomment-${comment.id}` }]
    }
    if ((r = /^PATCH \/issues\/comments\/(\d+)$/.exec(route))) {
      const comment = comments.find((c) => c.id === Number(r![1]) && c.repo === slug)
      if (!comment) throw new Answer(404, 'Not Found')
      comment.edits.push(comment.body)
      comment.body = String(body.body)
      return [200, { id: comment.id }]
    }
    const reviewView = (c: ReviewComment) => ({
      id: c.id,
      body: c.body,
      path: c.path,
      line: c.line ?? null,
      author_association: c.author_association,
      user: c.user,
      ...(c.inReplyTo !== undefined && { in_reply_to_id: c.inReplyTo }),
    })
    if ((r = /^GET \/pulls\/(\d+)\/comments$/.exec(route))) {
      return [200, reviewComments.filter((c) => c.repo === slug && c.pull === Number(r![1])).map(reviewView)]
    }
    if ((r = /^POST \/pulls\/(\d+)\/comments\/(\d+)\/replies$/.exec(route))) {
      const [pull, to] = [Number(r[1]), Number(r[2])]
      const first = reviewComments.find((c) => c.id === to && c.repo === slug && c.pull === pull)
      if (!first) throw new Answer(404, 'Not Found')
      // GitHub takes no reply to a reply.
      if (first.inReplyTo !== undefined) throw new Answer(422, 'in_reply_to is a reply')
      const reply: ReviewComment = { id: nextId++, repo: slug, pull, body: String(body.body), path: first.path, line: first.line, inReplyTo: to, author_association: 'NONE', user: { login: 'opencode[bot]', type: 'Bot' }, edits: [] }
      reviewComments.push(reply)
      return [201, reviewView(reply)]
    }
    if ((r = /^PATCH \/pulls\/comments\/(\d+)$/.exec(route))) {
      const comment = reviewComments.find((c) => c.id === Number(r![1]) && c.repo === slug)
      if (!comment) throw new Answer(404, 'Not Found')
      comment.edits.push(comment.body)
      comment.body = String(body.body)
      return [200, reviewView(comment)]
    }
    if ((r = /^GET \/check-runs\/(\d+)\/annotations$/.exec(route))) {
      const check = checkRuns.get(Number(r[1]))
      if (!check || check.repo !== slug) throw new Answer(404, 'Not Found')
      return [200, check.annotations]
    }
    if ((r = /^GET \/check-suites\/(\d+)\/check-runs$/.exec(route))) {
      const suite = checkSuites.get(Number(r[1]))
      if (!suite || suite.repo !== slug) throw new Answer(404, 'Not Found')
      const runs = suite.runs.map((c) => ({ id: c.id, name: c.name, status: 'completed', conclusion: c.conclusion, output: { title: null, summary: null, text: null, ...c.output } }))
      return [200, { total_count: runs.length, check_runs: runs }]
    }
    if ((r = /^GET \/actions\/runs\/(\d+)\/jobs$/.exec(route))) {
      const workflow = workflowRuns.get(Number(r[1]))
      if (!workflow || workflow.repo !== slug) throw new Answer(404, 'Not Found')
      return [200, { total_count: workflow.jobs.length, jobs: workflow.jobs.map((j) => ({ id: j.id, name: j.name, status: 'completed', conclusion: j.conclusion })) }]
    }
    if ((r = /^GET \/actions\/jobs\/(\d+)\/logs$/.exec(route))) {
      const log = jobLogs.get(Number(r[1]))
      if (!log || log.repo !== slug) throw new Answer(404, 'Not Found')
      // As GitHub does: a redirect to a short-lived download URL that needs no credential.
      throw new Redirect(`${url}/_blobs/job-logs/${r[1]}`)
    }
    if ((r = /^GET \/pulls\/(\d+)$/.exec(route))) {
      const pull = pulls.find((p) => p.number === Number(r![1]) && p.repo === slug)
      if (!pull) throw new Answer(404, 'Not Found')
      return [200, pullView(pull)]
    }
    // `head` as GitHub takes it: `owner:branch`.
    const headOf = (p: Pull) => `${(p.headRepo ?? p.repo).split('/')[0]}:${p.head}`
    if (route === 'GET /pulls') {
      const head = query.get('head')
      return [200, pulls.filter((p) => p.repo === slug && (!head || headOf(p) === head)).map(pullView)]
    }
    if (route === 'POST /pulls') {
      const head = String(body.head)
      const base = String(body.base)
      if (pulls.some((p) => p.repo === slug && headOf(p) === `${owner}:${head}`)) throw new Answer(422, `A pull request already exists for ${owner}:${head}.`)
      if (!(await refSha(owner, repo, `refs/heads/${head}`))) throw new Answer(422, `head ${head} does not exist`)
      if (!(await refSha(owner, repo, `refs/heads/${base}`))) throw new Answer(422, `base ${base} does not exist`)
      const pull: Pull = { number: nextNumber++, repo: slug, title: String(body.title), body: String(body.body ?? ''), head, base, draft: body.draft === true }
      pulls.push(pull)
      return [201, pullView(pull)]
    }
    if ((r = /^GET \/git\/commits\/([0-9a-f]{40})$/.exec(route))) {
      const tree = (await git(owner, repo, ['rev-parse', '--verify', '--quiet', `${r[1]}^{tree}`]).catch(() => '')).trim()
      if (!tree) throw new Answer(404, 'Not Found')
      return [200, { sha: r[1], tree: { sha: tree } }]
    }
    if (route === 'POST /git/blobs') {
      const content = Buffer.from(String(body.content), body.encoding === 'base64' ? 'base64' : 'utf8')
      return [201, { sha: (await git(owner, repo, ['hash-object', '-w', '--stdin'], content)).trim() }]
    }
    if (route === 'POST /git/trees') {
      const index = join(await mkdtemp(join(tmpdir(), 'ghsi-index-')), 'index')
      const env = { GIT_INDEX_FILE: index }
      try {
        if (body.base_tree) await git(owner, repo, ['read-tree', String(body.base_tree)], undefined, env)
        // A zero mode and id removes a path; a bare repository has no work tree for --force-remove.
        const entries = (body.tree as { path: string; mode: string; sha: string | null }[])
          .map((e) => (e.sha === null ? `0 ${'0'.repeat(40)}\t${e.path}\0` : `${e.mode} ${e.sha}\t${e.path}\0`))
          .join('')
        await git(owner, repo, ['update-index', '-z', '--index-info'], entries, env)
        return [201, { sha: (await git(owner, repo, ['write-tree'], undefined, env)).trim() }]
      } finally {
        await rm(join(index, '..'), { recursive: true, force: true })
      }
    }
    if (route === 'POST /git/commits') {
      const author = body.author as { name: string; email: string; date?: string }
      const committer = (body.committer ?? author) as { name: string; email: string; date?: string }
      const parents = (body.parents as string[]).flatMap((p) => ['-p', p])
      const sha = await git(owner, repo, ['commit-tree', String(body.tree), ...parents], String(body.message), {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
        ...(author.date && { GIT_AUTHOR_DATE: author.date }),
      })
      return [201, { sha: sha.trim() }]
    }
    if (route === 'POST /git/refs') {
      const ref = String(body.ref)
      if (!/^refs\/heads\/[\w./-]+$/.test(ref)) throw new Answer(422, 'Reference name is invalid')
      if (await refSha(owner, repo, ref)) throw new Answer(422, 'Reference already exists')
      await git(owner, repo, ['update-ref', ref, String(body.sha)])
      return [201, { ref, object: { sha: body.sha } }]
    }
    if ((r = /^PATCH \/git\/refs\/(heads\/[\w./-]+)$/.exec(route))) {
      const ref = `refs/${r[1]}`
      const old = await refSha(owner, repo, ref)
      if (!old) throw new Answer(422, 'Reference does not exist')
      const sha = String(body.sha)
      if (body.force !== true) {
        const fastForward = await git(owner, repo, ['merge-base', '--is-ancestor', old, sha]).then(() => true, () => false)
        if (!fastForward) throw new Answer(422, 'Update is not a fast forward')
      }
      await git(owner, repo, ['update-ref', ref, sha, old])
      return [200, { ref, object: { sha } }]
    }
    throw new Answer(404, 'Not Found')
  }

  const addCheckRun = (repo: string, annotations: Annotation[]) => {
    const id = nextId++
    checkRuns.set(id, { repo, annotations })
    return id
  }

  const server = createServer((req, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    const credential = credentialOf(req)
    const record = (status: number) => calls.push({ method: req.method ?? 'GET', path, credential, status })
    const gitPath = /^\/([^/]+)\/([^/]+)\.git\//.exec(path)
    if (gitPath) {
      // git over HTTP: the password of Basic auth is the token, as with GitHub.
      if (!publicRepos.has(`${gitPath[1]}/${gitPath[2]}`) && credential !== 'token' && credential !== 'installation') {
        record(401)
        res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' }).end()
        return
      }
      record(200)
      backend(opts.root, new URL(req.url ?? '/', 'http://127.0.0.1'), req, res)
      return
    }
    const blob = /^\/_blobs\/job-logs\/(\d+)$/.exec(path)
    if (blob) {
      const log = jobLogs.get(Number(blob[1]))
      record(log ? 200 : 404)
      res.writeHead(log ? 200 : 404, { 'content-type': 'text/plain' }).end(log?.log ?? '')
      return
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString()
      let body: Record<string, unknown>
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {}
      } catch {
        record(400)
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"Problems parsing JSON"}')
        return
      }
      api(req.method ?? 'GET', path, new URL(req.url ?? '/', 'http://127.0.0.1').searchParams, body, credential).then(
        ([status, out]) => {
          record(status)
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out))
        },
        (err: unknown) => {
          if (err instanceof Redirect) {
            record(302)
            res.writeHead(302, { location: err.location }).end()
            return
          }
          const status = err instanceof Answer ? err.status : 500
          record(status)
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: err instanceof Error ? err.message : String(err) }))
        },
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    comments,
    pulls,
    reviewComments,
    calls,
    minted,
    repoDir,
    cloneUrl,
    git,
    async createRepo(owner, repo, files, { public: open = false } = {}) {
      const dir = repoDir(owner, repo)
      if (open) publicRepos.add(`${owner}/${repo}`)
      await mkdir(dir, { recursive: true })
      await run(dir, ['init', '--quiet', '--bare', '--initial-branch=main'])
      const work = await mkdtemp(join(tmpdir(), 'ghsi-work-'))
      try {
        await run(work, ['init', '--quiet', '--initial-branch=main'])
        for (const [path, content] of Object.entries(files)) {
          await mkdir(join(work, path, '..'), { recursive: true })
          await writeFile(join(work, path), content)
        }
        await run(work, ['add', '.'])
        await run(work, ['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'first'])
        await run(work, ['push', '--quiet', dir, 'main'])
      } finally {
        await rm(work, { recursive: true, force: true })
      }
      return dir
    },
    addPull(pull) {
      const added = { ...pull, number: nextNumber++ }
      pulls.push(added)
      return added
    },
    addReviewComment(comment) {
      const added = { ...comment, id: nextId++, edits: [] }
      reviewComments.push(added)
      return added
    },
    addCheckRun,
    addCheckSuite(repo, runs) {
      const id = nextId++
      checkSuites.set(id, { repo, runs: runs.map((c) => ({ ...c, id: addCheckRun(repo, c.annotations ?? []) })) })
      return id
    },
    addWorkflowRun(repo, jobs) {
      const id = nextId++
      workflowRuns.set(id, {
        repo,
        jobs: jobs.map((j) => {
          const jobId = nextId++
          jobLogs.set(jobId, { repo, log: j.log })
          return { ...j, id: jobId }
        }),
      })
      return id
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
