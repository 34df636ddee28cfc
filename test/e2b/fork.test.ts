import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { api, newIdleSession, standInSandboxesOf, type Json } from '../helpers'
import { e2bStackForFile, notesOf, writeNotes } from './notes-stack'

/** Fork with SANDBOX_PROVIDER=e2b: `Sandbox.fork` through the stand-in, and the fork's opencode started afresh under its own credentials. */

const own = e2bStackForFile()

/** The environment of the opencode server running in a stand-in sandbox. */
function opencodeEnv(pids: number[]): string[] {
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serve')) continue
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
      if (env.some((v) => v.startsWith('OPENCODE_SERVER_PASSWORD='))) return env
    } catch {
      // gone meanwhile
    }
  }
  return []
}

describe('fork on E2B (through the stand-in)', () => {
  it("copies the sandbox with Sandbox.fork and runs the fork's opencode with its own password and gateway token", async () => {
    const id = await newIdleSession({ permissions: { '*': 'allow' } })
    const first = await writeNotes(id, 'one\n')
    await writeNotes(id, 'two\n')
    const [original] = standInSandboxesOf(own().stack.e2b!, id)

    const res = await api(`/v1/sessions/${id}/fork`, { body: { messageId: first } })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const fork = res.body.id as string
    const kept = (await api(`/v1/sessions/${fork}/messages`)).body as unknown as Json[]
    expect(kept.filter((m) => m.role === 'user').map((m) => m.id)).toEqual([first])
    expect(kept.at(-1)?.text).toContain('wrote one')
    expect(await notesOf(fork)).toBe('two\n')

    // E2B's fork keeps the original's metadata and create-time environment: the copy is the one sandbox more.
    const copy = own().stack.e2b!.list().find((sb) => sb.sandboxId !== original!.sandboxId && sb.metadata.sessionId === id)
    expect(copy).toBeDefined()
    const env = opencodeEnv(copy!.pids)
    const oldPassword = original!.envs.OPENCODE_SERVER_PASSWORD!
    expect(env.find((v) => v.startsWith('OPENCODE_SERVER_PASSWORD='))).toMatch(/=.{16,}/)
    expect(env).not.toContain(`OPENCODE_SERVER_PASSWORD=${oldPassword}`)
    expect(env.find((v) => v.startsWith('OPENCODE_CONFIG_CONTENT='))).toContain(`"apiKey":"${fork}.`)
    const health = (password: string) =>
      fetch(`${own().stack.e2b!.sandboxUrl}/global/health`, {
        headers: {
          'E2b-Sandbox-Id': copy!.sandboxId,
          'E2b-Sandbox-Port': '4096',
          'e2b-traffic-access-token': copy!.trafficAccessToken!,
          authorization: `Basic ${btoa(`opencode:${password}`)}`,
        },
      })
    expect((await health(oldPassword)).status).toBe(401)

    // The workspaces are apart: a write in the original leaves the fork's copy as it was.
    await writeNotes(id, 'three\n')
    expect(await notesOf(fork)).toBe('two\n')
    for (const s of [id, fork]) await api(`/v1/sessions/${s}`, { method: 'DELETE' })
  })
})
