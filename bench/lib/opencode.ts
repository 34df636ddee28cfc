import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createOpencodeClient, type OpencodeClient } from '@opencode-ai/sdk/v2/client'
import { modelProviderConfig } from '../../local/model-server'
import { freePort } from '../../local/ports'
import { PROJECT_ROOT } from '../../local/stack'
import { waitForOpencode } from '../../src/opencode/client'
import { onCleanup } from './stack'

export type DirectOpencode = { client: OpencodeClient; sessionId: string; close(): Promise<void> }

/**
 * An `opencode serve` of our own, started the way the local sandbox host starts one (its own
 * home and XDG folders, a random password, the scripted model as provider), so the benchmark
 * can read opencode's event stream directly: the stack never reveals its opencode's URL.
 */
export async function startDirectOpencode(modelUrl: string, modelKey?: string): Promise<DirectOpencode> {
  const dir = mkdtempSync(join(tmpdir(), 'osw-bench-opencode-'))
  const home = join(dir, 'home')
  const workdir = join(dir, 'workspace')
  mkdirSync(home)
  mkdirSync(workdir)
  const password = randomBytes(16).toString('hex')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const bin = join(PROJECT_ROOT, 'node_modules', '.bin')
  const proc = spawn(join(bin, 'opencode'), ['serve', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: workdir,
    env: {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      LANG: process.env.LANG ?? 'C.UTF-8',
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_DATA_HOME: join(home, '.local', 'share'),
      XDG_STATE_HOME: join(home, '.local', 'state'),
      XDG_CACHE_HOME: join(home, '.cache'),
      OPENCODE_SERVER_PASSWORD: password,
      OPENCODE_CONFIG_CONTENT: JSON.stringify(modelProviderConfig(modelUrl, modelKey)),
    },
    detached: true,
    stdio: 'ignore',
  })
  const close = onCleanup(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r))
      try {
        process.kill(-proc.pid!, 'SIGKILL')
      } catch {
        proc.kill('SIGKILL')
      }
      await exited
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  })
  try {
    await waitForOpencode({ url, headers: {} }, password)
    const client = createOpencodeClient({
      baseUrl: url,
      headers: { authorization: `Basic ${btoa(`opencode:${password}`)}` },
      directory: workdir,
    })
    const session = await client.session.create({})
    if (!session.data) throw new Error(`opencode did not create a session: ${JSON.stringify(session.error)}`)
    return { client, sessionId: session.data.id, close }
  } catch (err) {
    await close()
    throw err
  }
}
