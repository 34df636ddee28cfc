import { describe, expect, it } from 'vitest'
import { api, newIdleSession, standInSandboxesOf, type Json } from '../helpers'
import { sandboxCredentials } from '../helpers/standin'
import { agentRuns, e2bStackForFile, notesOf, writeNotes } from './notes-stack'

/**
 * Fork with SANDBOX_PROVIDER=e2b: `Sandbox.fork` through the stand-in (which keeps the original's
 * paths, as E2B does), and the fork working under its own credentials only.
 */

const own = e2bStackForFile()

const LOOK = 'env; cat "$HOME/.sandbox-env"; ps -eo args 2>/dev/null'

describe('fork on E2B (through the stand-in)', () => {
  it("copies the sandbox with Sandbox.fork; the fork's agent works on and sees only its own credentials, and the original goes on", async () => {
    const id = await newIdleSession({ permissions: { '*': 'allow' } })
    const first = await writeNotes(id, 'one\n')
    await writeNotes(id, 'two\n')
    const [original] = standInSandboxesOf(own().stack.e2b!, id)
    const old = sandboxCredentials(original!.home)
    // E2B keeps create-time environment in envd's memory, which a fork copies: nothing secret is there.
    expect(JSON.stringify(original!.envs)).not.toContain(old.password)
    expect(JSON.stringify(original!.envs)).not.toContain(old.gatewayToken)

    const res = await api(`/v1/sessions/${id}/fork`, { body: { messageId: first } })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const fork = res.body.id as string
    const kept = (await api(`/v1/sessions/${fork}/messages`)).body as unknown as Json[]
    expect(kept.filter((m) => m.role === 'user').map((m) => m.id)).toEqual([first])
    expect(kept.at(-1)?.text).toContain('wrote one')
    expect(await notesOf(fork)).toBe('two\n')

    // E2B's fork keeps the original's metadata: the copy is the one sandbox more.
    const copy = own().stack.e2b!.list().find((sb) => sb.sandboxId !== original!.sandboxId && sb.metadata.sessionId === id)
    expect(copy).toBeDefined()
    const mine = sandboxCredentials(copy!.home)
    expect(mine.password).not.toBe(old.password)
    expect(mine.gatewayToken.startsWith(`${fork}.`)).toBe(true)

    // A new turn in the fork: its agent prints its environment, its env file and its processes.
    const seen = await agentRuns(fork, LOOK)
    expect(seen).toContain(`OPENCODE_SERVER_PASSWORD=${mine.password}`)
    expect(seen).toContain(mine.gatewayToken)
    expect(seen).not.toContain(old.password)
    expect(seen).not.toContain(old.gatewayToken)
    await writeNotes(fork, 'fork\n')
    expect(await notesOf(fork)).toBe('fork\n')

    const health = (password: string) =>
      fetch(`${own().stack.e2b!.sandboxUrl}/global/health`, {
        headers: {
          'E2b-Sandbox-Id': copy!.sandboxId,
          'E2b-Sandbox-Port': '4096',
          'e2b-traffic-access-token': copy!.trafficAccessToken!,
          authorization: `Basic ${btoa(`opencode:${password}`)}`,
        },
      })
    expect((await health(old.password)).status).toBe(401)
    expect((await health(mine.password)).status).toBe(200)

    // The original goes on with its own, and its workspace is apart from the fork's.
    expect(await agentRuns(id, LOOK)).toContain(`OPENCODE_SERVER_PASSWORD=${old.password}`)
    await writeNotes(id, 'three\n')
    expect(await notesOf(id)).toBe('three\n')
    expect(await notesOf(fork)).toBe('fork\n')
    for (const s of [id, fork]) await api(`/v1/sessions/${s}`, { method: 'DELETE' })
  }, 600_000)
})
