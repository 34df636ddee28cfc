import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { openJson } from '../../src/lib/sealed'
import { startGitServer, type GitServer } from './git-server'
import { api, baseUrl, EventStream, fixtureRepo, git, sandboxesOf, sandboxHost, waitForStatus } from './helpers'

const REPO_TOKEN = 'ghp_canaryRepoToken7f3a9c0d'
const SECRET = 'canary-secret-at-rest-51b8'

/** A command in a session's sandbox, through the sandbox host as the Worker runs them: what the agent could see. */
async function execIn(sandboxId: string, command: string): Promise<{ exitCode: number; stdout: string }> {
  const res = await sandboxHost(`/sandboxes/${sandboxId}/exec`, 'POST', { command })
  return (await res.json()) as { exitCode: number; stdout: string }
}

/** The files under `dir` that contain `text` (grep's exit status 1 means none). */
function filesContaining(dir: string, text: string): string {
  const r = spawnSync('grep', ['-rlF', '--', text, dir], { encoding: 'utf8' })
  if (r.status !== 0 && r.status !== 1) throw new Error(`grep failed: ${r.stderr}`)
  return r.stdout
}

/** Every file of a folder, SQLite's own (-wal, -shm) included. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file).toString('latin1')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * Which of `values` the stack's stored state holds: as they are, anywhere in its files; or sealed,
 * in a session's row, opened with the stack's SECRETS_KEY as anyone holding the key and a copy of
 * the database could. (SQLite may keep the bytes of a row's earlier version in its log and free
 * pages until it reuses them; what the database holds is what is checked here.)
 */
async function storedState(stateDir: string, values: string[]): Promise<string[]> {
  const keyLine = readFileSync(join(stateDir, 'secrets-key.env'), 'utf8')
  const keyText = /^SECRETS_KEY=(['"`])(.*)\1$/m.exec(keyLine)![2]!
  const found = new Set<string>()
  for (const file of filesUnder(stateDir)) {
    // A database's -shm and -wal files come and go as its object opens and closes.
    const bytes = readIfThere(file)
    if (bytes === undefined) continue
    for (const v of values) if (bytes.includes(v)) found.add(v)
    if (!/SessionDO\/[0-9a-f]{64}\.sqlite$/.test(file)) continue
    const rows = spawnSync('sqlite3', ['-readonly', '-json', file, 'SELECT secrets FROM session WHERE secrets IS NOT NULL'], { encoding: 'utf8' })
    if (rows.status !== 0) throw new Error(`sqlite3 could not read ${file}: ${rows.stderr}`)
    for (const { secrets } of JSON.parse(rows.stdout || '[]') as { secrets: string }[]) {
      const opened = JSON.stringify(await openJson<unknown>(keyText, secrets))
      for (const v of values) if (opened.includes(v)) found.add(v)
    }
  }
  return values.filter((v) => found.has(v))
}

describe('a private repository', () => {
  let root: string
  let server: GitServer
  let repoUrl: string

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'osw-private-git-'))
    const source = fixtureRepo('private-source', { 'README.md': 'from a private repository\n' })
    git(root, 'clone', '--quiet', '--bare', source, 'private.git')
    rmSync(source, { recursive: true, force: true })
    server = await startGitServer(root, REPO_TOKEN)
    repoUrl = `${server.url}/private.git`
  })

  afterAll(async () => {
    await server.close()
    rmSync(root, { recursive: true, force: true })
  })

  it('is cloned with its token, which is left nowhere: not in the sandbox, its git config, the API, the events, the logs or the stored state', async () => {
    const created = await api('/v1/sessions', { body: { repo: { url: repoUrl, token: REPO_TOKEN }, secrets: { API_TOKEN: SECRET } } })
    expect(created.status).toBe(201)
    const id = created.body.id as string
    const stream = new EventStream(id)
    try {
      const view = await waitForStatus(id, 'idle')
      expect(view.repo).toEqual({ url: repoUrl })
      const readme = await api(`/v1/sessions/${id}/files?path=README.md`)
      expect(readme.body.content).toBe('from a private repository\n')
      expect(server.requests.filter((r) => r.authorized).length).toBeGreaterThan(0)

      const [sandbox] = await sandboxesOf(id)
      const env = await execIn(sandbox!.sandboxId, 'env; git config --list')
      // The secret is there for the agent as environment; the repository token is not.
      expect(env.stdout).toContain(`API_TOKEN=${SECRET}`)
      expect(env.stdout).not.toContain(REPO_TOKEN)
      const clone = await execIn(sandbox!.sandboxId, 'cat .git/config; git config --local --list; ls -A "$HOME"')
      expect(clone.exitCode).toBe(0)
      expect(clone.stdout).toContain(`url = ${repoUrl}`)
      expect(clone.stdout).not.toContain(REPO_TOKEN)
      expect(clone.stdout).not.toContain('credential')
      expect(clone.stdout).not.toContain('.clone-credentials')
      expect(filesContaining(dirname(sandbox!.workdir), REPO_TOKEN)).toBe('')

      const answers = [created.body, view, (await api(`/v1/sessions/${id}`)).body, (await api('/v1/sessions')).body]
      for (const body of answers) {
        expect(JSON.stringify(body)).not.toContain(REPO_TOKEN)
        expect(JSON.stringify(body)).not.toContain(SECRET)
      }
      const ended = await api(`/v1/sessions/${id}`, { method: 'DELETE' })
      expect(ended.body.status).toBe('ended')
      await stream.until((e) => e.event === 'session.ended')
      expect(stream.events.length).toBeGreaterThan(3)
      expect(JSON.stringify(stream.events)).not.toContain(REPO_TOKEN)
      expect(JSON.stringify(stream.events)).not.toContain(SECRET)

      const workerLog = inject('workerLogFile')
      expect(readFileSync(workerLog, 'utf8')).not.toContain(REPO_TOKEN)
      expect(readFileSync(workerLog, 'utf8')).not.toContain(SECRET)
      // Durable Object storage on disk holds them sealed, never as they are (the spec's URL shows what it holds in plain).
      const state = join(dirname(workerLog), 'state')
      expect(filesContaining(state, repoUrl)).not.toBe('')
      expect(filesContaining(state, REPO_TOKEN)).toBe('')
      expect(filesContaining(state, SECRET)).toBe('')
    } finally {
      await stream.close()
    }
  })

  it("erases the session's secrets, model keys and repository token when it ends, and when it fails: stored state and log hold none of them", async () => {
    const stateDir = join(dirname(inject('workerLogFile')), 'state')
    const tag = Date.now().toString(36)
    const kept = { secret: `canary-ended-secret-${tag}`, modelKey: `sk-canary-ended-model-${tag}`, repoToken: REPO_TOKEN }
    const created = await api('/v1/sessions', {
      body: { repo: { url: repoUrl, token: kept.repoToken }, secrets: { API_TOKEN: kept.secret }, modelKeys: { openai: kept.modelKey } },
    })
    expect(created.status).toBe(201)
    const id = created.body.id as string
    await waitForStatus(id, 'idle')
    // What this test reads: while the session lives, its state holds all three, sealed.
    expect(await storedState(stateDir, Object.values(kept))).toEqual(Object.values(kept))
    expect((await api(`/v1/sessions/${id}`, { method: 'DELETE' })).body.status).toBe('ended')
    expect(await storedState(stateDir, Object.values(kept))).toEqual([])

    const doomed = { secret: `canary-failed-secret-${tag}`, modelKey: `sk-canary-failed-model-${tag}`, repoToken: `ghp_canaryFailedToken${tag}` }
    const failing = await api('/v1/sessions', {
      body: { repo: { url: `${server.url}/no-such-repository.git`, token: doomed.repoToken }, secrets: { API_TOKEN: doomed.secret }, modelKeys: { openai: doomed.modelKey } },
    })
    expect(failing.status).toBe(201)
    const failed = await waitForStatus(failing.body.id as string, 'failed')
    expect(failed.error).toEqual(expect.objectContaining({ code: expect.any(String) }))
    expect(await storedState(stateDir, Object.values(doomed))).toEqual([])

    const log = readFileSync(inject('workerLogFile'), 'utf8')
    expect([...Object.values(kept), ...Object.values(doomed)].filter((v) => log.includes(v))).toEqual([])
  }, 180_000)

  it('is not cloned without its token, nor with a wrong one', async () => {
    for (const repo of [{ url: repoUrl }, { url: repoUrl, token: 'ghp_wrong' }]) {
      const before = server.requests.length
      const created = await api('/v1/sessions', { body: { repo } })
      expect(created.status).toBe(201)
      const failed = await waitForStatus(created.body.id as string, 'failed')
      expect(failed.error.code).toBe('clone_failed')
      const asked = server.requests.slice(before)
      expect(asked.length).toBeGreaterThan(0)
      expect(asked.every((r) => !r.authorized)).toBe(true)
    }
  })
})

describe('a cloned repository with links in it', () => {
  it('cannot have files written, nor read, through them outside the sandbox', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'osw-outside-'))
    writeFileSync(join(outside, 'victim.txt'), 'victim-canary-content')
    const repo = fixtureRepo('links', { 'README.md': 'links\n' })
    try {
      symlinkSync(outside, join(repo, 'escape'))
      symlinkSync(join(outside, 'victim.txt'), join(repo, 'victim'))
      git(repo, 'add', '.')
      git(repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '--quiet', '-m', 'links')

      const reader = await api('/v1/sessions', { body: { repo: { url: repo } } })
      const id = reader.body.id as string
      await waitForStatus(id, 'idle')
      const read = await api(`/v1/sessions/${id}/files?path=victim`)
      expect(read.status).toBe(400)
      expect(JSON.stringify(read.body)).not.toContain('victim-canary-content')
      await api(`/v1/sessions/${id}`, { method: 'DELETE' })

      const writer = await api('/v1/sessions', { body: { repo: { url: repo }, files: [{ path: 'escape/pwned.txt', content: 'pwned' }] } })
      const failed = await waitForStatus(writer.body.id as string, 'failed')
      expect(failed.error.code).toBe('sandbox_failed')
      expect(failed.error.message).toMatch(/leads outside the sandbox/)
      expect(readdirSync(outside)).toEqual(['victim.txt'])
    } finally {
      rmSync(outside, { recursive: true, force: true })
      rmSync(repo, { recursive: true, force: true })
    }
  })
})

describe('repository URLs', () => {
  it('with credentials in them are refused, for sessions and runs', async () => {
    const urls = [
      'https://user:password@github.com/o/r.git',
      `https://${REPO_TOKEN}@github.com/o/r.git`,
      `http://x-access-token:${REPO_TOKEN}@127.0.0.1:1/r.git`,
      'git://user@example.com/r.git',
      'ssh://git:password@github.com/o/r.git',
    ]
    for (const url of urls) {
      for (const [path, body] of [
        ['/v1/sessions', { repo: { url } }],
        ['/v1/runs', { prompt: 'p', repo: { url } }],
      ] as const) {
        const res = await api(path, { body })
        expect(res.status, `${path} ${url}`).toBe(400)
        expect(res.body.error.details[0].path).toBe('json.repo.url')
        expect(JSON.stringify(res.body)).not.toContain(REPO_TOKEN)
      }
    }
  })

  it('take a token only for http(s), for sessions and runs', async () => {
    for (const [path, extra] of [['/v1/sessions', {}], ['/v1/runs', { prompt: 'p' }]] as const) {
      const ssh = await api(path, { body: { ...extra, repo: { url: 'ssh://git@github.com/o/r.git', token: 't' } } })
      expect(ssh.status, path).toBe(400)
      expect(ssh.body.error.details[0].path).toBe('json.repo.token')
      const spaced = await api(path, { body: { ...extra, repo: { url: 'https://github.com/o/r.git', token: 'a b' } } })
      expect(spaced.status, path).toBe(400)
    }
  })
})

describe('the dev server', () => {
  /** Node's fetch will not send another Host header; a raw request does, as a rebound page's browser would. */
  const withHost = (path: string, host: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(path, baseUrl())
      const req = request({ hostname: url.hostname, port: url.port, path: url.pathname, headers: { ...headers, host } }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode!, body }))
      })
      req.on('error', reject)
      req.end()
    })

  it('answers only requests addressed to localhost or 127.0.0.1 (DNS rebinding)', async () => {
    const port = new URL(baseUrl()).port
    expect((await withHost('/health', `127.0.0.1:${port}`)).status).toBe(200)
    expect((await withHost('/health', `localhost:${port}`)).status).toBe(200)
    expect((await withHost('/health', 'LOCALHOST')).status).toBe(200)
    for (const host of [`attacker.example:${port}`, 'localhost.attacker.example', `127.0.0.1.nip.io:${port}`]) {
      const res = await withHost('/v1/sessions', host, { authorization: 'Bearer test-key-alpha' })
      expect(res.status, host).toBe(403)
      expect(JSON.parse(res.body).error.code).toBe('forbidden')
      expect((await withHost('/openapi.json', host)).status).toBe(403)
    }
  })
})
