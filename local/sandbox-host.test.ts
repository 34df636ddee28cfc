import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LocalSandboxProvider } from '../src/sandbox/local'
import { processAlive, waitFor, waitForProcessState } from '../test/helpers'
import { startSandboxHost, type SandboxHost } from './sandbox-host'
import { recordedProcesses } from './sandbox-processes'

/** The local provider and its host together: the seam a session uses in development. */

let root: string
let host: SandboxHost
let provider: LocalSandboxProvider

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'osw-host-'))
  host = await startSandboxHost({ root, token: 'host-token' })
  provider = new LocalSandboxProvider(host.url, 'host-token')
})

afterAll(async () => {
  await host?.close()
  await rm(root, { recursive: true, force: true })
})

/** The pid a command in the sandbox wrote to its `pid` file, once it has. */
const startedPid = (sandboxId: string) =>
  waitFor('the command to start', async () => Number((await provider.exec(sandboxId, 'cat pid')).stdout.trim()))

describe('local sandboxes', () => {
  it('says which ports a sandbox listens on: its own processes’ only, never another sandbox’s or the host’s', async () => {
    const mine = await provider.create({ envs: {}, metadata: {} })
    const other = await provider.create({ envs: {}, metadata: {} })
    const hosts = createServer()
    await new Promise<void>((resolve) => hosts.listen(0, '127.0.0.1', resolve))
    try {
      await provider.exec(mine.sandboxId, `node -e "require('net').createServer().listen(0)" > /dev/null 2>&1 & echo $! > pid`)
      const ports = await provider.listeningPorts(mine.sandboxId, { differentFrom: [] })
      expect(ports).toHaveLength(1)
      expect(ports).not.toContain((hosts.address() as { port: number }).port)
      expect(await provider.listeningPorts(other.sandboxId)).toEqual([])
      expect(await provider.listeningPorts(mine.sandboxId)).toEqual(ports)
      // Its server gone, the watch says so.
      await provider.exec(mine.sandboxId, 'kill $(cat pid)')
      expect(await provider.listeningPorts(mine.sandboxId, { differentFrom: ports })).toEqual([])
    } finally {
      hosts.close()
      for (const sb of [mine, other]) await provider.kill(sb.sandboxId)
    }
    // Two sandboxes, a node process started and stopped, and a look at /proc every 500 ms: seconds on a loaded machine.
  }, 30_000)

  it('snapshots a workspace as a copy: neither the sandbox it came from nor one started from it changes it', async () => {
    const source = await provider.create({ envs: { SECRET_PW: 'hunter2' }, metadata: {} })
    await provider.exec(source.sandboxId, 'mkdir -p deps && echo v1 > deps/lib.txt && ln -s deps/lib.txt link')
    const { snapshotId, sizeBytes } = await provider.snapshots.take(source.sandboxId)
    expect(sizeBytes).toBeGreaterThan(0)
    await provider.exec(source.sandboxId, 'echo changed > deps/lib.txt')

    const first = await provider.create({ envs: {}, metadata: {}, snapshotId })
    expect((await provider.exec(first.sandboxId, 'cat link; readlink link; echo "[$SECRET_PW]"')).stdout).toBe('v1\ndeps/lib.txt\n[]\n')
    await provider.exec(first.sandboxId, 'echo mine > deps/lib.txt')
    const second = await provider.create({ envs: {}, metadata: {}, snapshotId })
    expect((await provider.exec(second.sandboxId, 'cat deps/lib.txt')).stdout).toBe('v1\n')

    await provider.snapshots.delete(snapshotId)
    await expect(provider.create({ envs: {}, metadata: {}, snapshotId })).rejects.toMatchObject({ code: 'not_found' })
    await expect(provider.create({ envs: {}, metadata: {}, snapshotId: '../sbx' })).rejects.toMatchObject({ code: 'not_found' })
    // Deleting one that is gone already is not an error.
    await provider.snapshots.delete(snapshotId)
    for (const sb of [source, first, second]) await provider.kill(sb.sandboxId)
  })

  it('forks a sandbox: its workspace and home copied, under its own environment only, and neither changes the other', async () => {
    const source = await provider.create({ envs: { OPENCODE_SERVER_PASSWORD: 'original-pw' }, metadata: { sessionId: 'ses_a' } })
    await provider.exec(source.sandboxId, 'echo v1 > notes.txt && mkdir -p "$HOME/.local/share/opencode" && echo state > "$HOME/.local/share/opencode/state.txt"')
    const copy = await provider.fork(source.sandboxId, { envs: { OPENCODE_SERVER_PASSWORD: 'fork-pw' }, metadata: { sessionId: 'ses_b' } })
    expect(copy.sandboxId).not.toBe(source.sandboxId)
    const seen = await provider.exec(copy.sandboxId, 'cat notes.txt "$HOME/.local/share/opencode/state.txt"; echo "[$OPENCODE_SERVER_PASSWORD]"; env | grep -c original-pw')
    expect(seen.stdout).toBe('v1\nstate\n[fork-pw]\n0\n')
    await provider.exec(copy.sandboxId, 'echo fork > notes.txt')
    await provider.exec(source.sandboxId, 'echo v2 > notes.txt')
    expect((await provider.exec(copy.sandboxId, 'cat notes.txt')).stdout).toBe('fork\n')
    expect((await provider.exec(source.sandboxId, 'cat notes.txt')).stdout).toBe('v2\n')
    await expect(provider.fork('sbx_gone', { envs: {}, metadata: {} })).rejects.toMatchObject({ code: 'not_found' })
    for (const sb of [source, copy]) await provider.kill(sb.sandboxId)
  })

  it('pause stops every process where it stands, and resume lets it go on', async () => {
    const { sandboxId } = await provider.create({ envs: {}, metadata: {} })
    // The command waits on a fifo until the test lets it go, so it is mid-way whenever the pause comes.
    const running = provider.exec(sandboxId, 'mkfifo go; echo $$ > pid; read line < go; echo "done $line"', { timeoutMs: 60_000 })
    const pid = await startedPid(sandboxId)
    await provider.pause(sandboxId)
    expect(await waitForProcessState(pid, 'T')).toBe('T')
    expect(await provider.status(sandboxId)).toBe('paused')
    await expect(provider.exec(sandboxId, 'true')).rejects.toThrow(/paused/)

    await provider.resume(sandboxId)
    await provider.exec(sandboxId, 'echo resumed > go')
    expect((await running).stdout).toBe('done resumed\n')
    expect(await provider.status(sandboxId)).toBe('agent_exited')
    await provider.kill(sandboxId)
    expect(await provider.status(sandboxId)).toBe('gone')
  })

  it('kills a paused sandbox', async () => {
    const { sandboxId } = await provider.create({ envs: {}, metadata: {} })
    const running = provider.exec(sandboxId, 'echo $$ > pid; exec sleep 30', { timeoutMs: 60_000 })
    const pid = await startedPid(sandboxId)
    await provider.pause(sandboxId)
    expect(await waitForProcessState(pid, 'T')).toBe('T')
    await provider.kill(sandboxId)
    expect((await running).exitCode).not.toBe(0)
    expect(await provider.status(sandboxId)).toBe('gone')
  })
})

describe('files of a local sandbox', () => {
  let outside: string
  let sandboxId: string
  let workdir: string
  let home: string

  beforeAll(async () => {
    outside = await mkdtemp(join(tmpdir(), 'osw-outside-'))
    await writeFile(join(outside, 'victim.txt'), 'untouched')
    ;({ sandboxId, workdir, home } = await provider.create({ envs: {}, metadata: {} }))
    // Links as a cloned repository, or the agent, could leave them.
    const links = [
      `ln -s ${outside} out`,
      `ln -s ${outside}/victim.txt victim`,
      `ln -s ${outside}/new.txt dangling`,
      'mkdir -p real && ln -s real inner',
    ]
    expect((await provider.exec(sandboxId, links.join(' && '))).exitCode).toBe(0)
  })

  afterAll(async () => {
    await provider.kill(sandboxId)
    await rm(outside, { recursive: true, force: true })
  })

  it('cannot be written through a link leading outside the sandbox', async () => {
    for (const path of ['out/x.txt', 'out/a/b/x.txt', 'victim', 'dangling']) {
      await expect(provider.writeFiles(sandboxId, [{ path: `${workdir}/${path}`, content: 'pwned' }]), path).rejects.toThrow(
        /leads outside the sandbox/,
      )
    }
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('untouched')
    expect((await readdir(outside)).sort()).toEqual(['victim.txt'])
  })

  it('cannot be read through a link leading outside the sandbox', async () => {
    await expect(provider.readFile(sandboxId, `${workdir}/victim`)).rejects.toThrow(/leads outside the sandbox/)
    await expect(provider.readFile(sandboxId, `${workdir}/out/victim.txt`)).rejects.toThrow(/leads outside the sandbox/)
    await expect(provider.readFile(sandboxId, `${workdir}/../../victim.txt`)).rejects.toThrow(/outside the sandbox/)
  })

  it('are written and read through links that stay inside, new folders included', async () => {
    await provider.writeFiles(sandboxId, [
      { path: `${workdir}/inner/a/b/note.txt`, content: 'inside' },
      { path: `${home}/.config/x/y.txt`, content: 'home' },
    ])
    expect(readFileSync(join(workdir, 'real', 'a', 'b', 'note.txt'), 'utf8')).toBe('inside')
    expect(await provider.readFile(sandboxId, `${workdir}/inner/a/b/note.txt`)).toEqual({ type: 'text', content: 'inside' })
    expect(await provider.readFile(sandboxId, `${home}/.config/x/y.txt`)).toEqual({ type: 'text', content: 'home' })
    await provider.writeFiles(sandboxId, [{ path: `${workdir}/inner/a/b/note.txt`, content: 'again' }])
    expect(readFileSync(join(workdir, 'real', 'a', 'b', 'note.txt'), 'utf8')).toBe('again')
    expect(existsSync(join(outside, 'a'))).toBe(false)
  })
})

describe('the sandbox host', () => {
  /** Node's fetch will not send another Host header; a raw request does, as a rebound page's browser would. */
  const withHost = (hostHeader: string) =>
    new Promise<number>((resolve, reject) => {
      const url = new URL(`${host.url}/sandboxes`)
      const req = request(
        { hostname: url.hostname, port: url.port, path: url.pathname, headers: { host: hostHeader, authorization: 'Bearer host-token' } },
        (res) => {
          res.resume()
          resolve(res.statusCode!)
        },
      )
      req.on('error', reject)
      req.end()
    })

  it('answers only requests addressed to 127.0.0.1 or localhost', async () => {
    const port = new URL(host.url).port
    expect(await withHost(`127.0.0.1:${port}`)).toBe(200)
    expect(await withHost(`localhost:${port}`)).toBe(200)
    expect(await withHost(`attacker.example:${port}`)).toBe(403)
    expect(await withHost('localhost.attacker.example')).toBe(403)
  })
})

describe('a sandbox host stopping', () => {
  it('refuses new sandboxes, then kills every process it started, a paused one too, and forgets them', async () => {
    const ownRoot = await mkdtemp(join(tmpdir(), 'osw-stop-'))
    const own = await startSandboxHost({ root: ownRoot, token: 'own-token' })
    const local = new LocalSandboxProvider(own.url, 'own-token')
    let closed = false
    try {
      const { sandboxId } = await local.create({ envs: {}, metadata: {} })
      const running = local.exec(sandboxId, 'echo $$ > pid; exec sleep 300', { timeoutMs: 0 })
      const pid = await waitFor('the command to start', async () => Number((await local.exec(sandboxId, 'cat pid')).stdout.trim()))
      expect(recordedProcesses(ownRoot).map((r) => r.pid)).toContain(pid)
      await local.pause(sandboxId)
      await waitForProcessState(pid, 'T')

      own.stopAccepting()
      await expect(local.create({ envs: {}, metadata: {} })).rejects.toMatchObject({ code: 'unavailable' })
      await own.close()
      closed = true
      expect((await running).exitCode).not.toBe(0)
      expect(processAlive(pid)).toBe(false)
      expect(recordedProcesses(ownRoot)).toEqual([])
    } finally {
      if (!closed) await own.close()
      await rm(ownRoot, { recursive: true, force: true })
    }
  })
})
