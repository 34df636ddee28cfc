import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { OpencodeClient } from '@opencode-ai/sdk/v2/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSandboxHost, type SandboxHost } from '../../local/sandbox-host'
import { LocalSandboxProvider } from '../sandbox/local'
import type { SandboxEndpoint } from '../sandbox/provider'
import { agentClient, AgentUnreachableError, waitForOpencode } from './client'
import { DEFAULT_TIMINGS } from '../config/timings'
import { ensureAgentSession } from './session'

/** Against a real `opencode serve` in a local sandbox, as a session or the warm pool reaches it. */

const PASSWORD = 'session-test-password'

let root: string
let host: SandboxHost
let sandboxId: string
let workdir: string
let endpoint: SandboxEndpoint
let client: OpencodeClient

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'osw-agent-session-'))
  host = await startSandboxHost({ root })
  const provider = new LocalSandboxProvider(host.url, undefined)
  ;({ sandboxId, workdir } = await provider.create({ envs: { OPENCODE_SERVER_PASSWORD: PASSWORD }, metadata: {} }))
  endpoint = await provider.startOpencode(sandboxId, { cwd: workdir })
  await waitForOpencode(endpoint, PASSWORD)
  client = agentClient(endpoint, PASSWORD, workdir, { timeoutMs: DEFAULT_TIMINGS.agentCallMs })
}, 120_000)

afterAll(async () => {
  await host?.close()
  await rm(root, { recursive: true, force: true })
}, 60_000)

const titleOf = async (id: string) => (await client.session.get({ sessionID: id })).data?.title

// Each call is a request or two to a local opencode; a busy machine can make the first slow.
describe('ensureAgentSession', { timeout: 30_000 }, () => {
  it('creates a session, titled when a title is given', async () => {
    const titled = await ensureAgentSession(client, { title: 'first title' })
    expect(await titleOf(titled)).toBe('first title')
    const plain = await ensureAgentSession(client)
    expect(plain).not.toBe(titled)
    expect(await titleOf(plain)).toEqual(expect.any(String))
  })

  it('keeps a session opencode has, retitling it only when a title is given', async () => {
    const id = await ensureAgentSession(client, { title: 'before' })
    expect(await ensureAgentSession(client, { id, title: 'after' })).toBe(id)
    expect(await titleOf(id)).toBe('after')
    expect(await ensureAgentSession(client, { id, title: null })).toBe(id)
    expect(await titleOf(id)).toBe('after')
  })

  it('creates a new titled session in place of one opencode does not have', async () => {
    const gone = 'ses_0000000000000000000000gone'
    for (const title of ['replaced', null]) {
      const id = await ensureAgentSession(client, { id: gone, title })
      expect(id).not.toBe(gone)
      expect(await titleOf(id)).toEqual(title ?? expect.any(String))
    }
    expect((await client.session.get({ sessionID: gone })).data).toBeUndefined()
  })

  it('throws AgentUnreachableError when opencode creates none', async () => {
    const refused = agentClient(endpoint, 'not-the-password', workdir, { timeoutMs: DEFAULT_TIMINGS.agentCallMs })
    await expect(ensureAgentSession(refused, { title: 'x' })).rejects.toBeInstanceOf(AgentUnreachableError)
  })
})
