import { createHash } from 'node:crypto'
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Sandbox, type ConnectionOpts } from 'e2b'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { E2BStandInSandbox } from '../../local/e2b-standin'
import { inDialect } from '../../local/model-server'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import {
  api,
  CANARY_PROVIDER_KEY,
  createSession,
  deltasOf,
  EventStream,
  fixtureRepo,
  isIdleEvent,
  isReplyTo,
  processState,
  scripted,
  sendMessage,
  standInSandboxesOf,
  streamFromNow,
  waitFor,
  waitForStatus,
  type Json,
  type SseEvent,
} from '../helpers'

/**
 * The whole session flow with SANDBOX_PROVIDER=e2b: the Worker drives the real `e2b` SDK
 * against the E2B stand-in, whose sandboxes run the real opencode in their own network
 * namespaces. Sessions go idle after a few seconds here, so pausing is seen within a test.
 */

const E2B_KEY = 'e2b_test_key_0123456789abcdef'
const IDLE_SECONDS = 4

/**
 * The product's intervals the fault tests below wait through (docs/operations.md, "When things break"),
 * shortened from 30 s through the TIMINGS setting so that the rule, not its length, is tested.
 * wakeMs: how often an active or ended session's alarm goes off (a leftover sandbox's kill is
 * tried again at each); pauseRetryMs: how long after a refused pause the first retry waits,
 * doubling after each further refusal.
 */
const TIMINGS = { wakeMs: 3_000, pauseRetryMs: 3_000 }
const { wakeMs: WAKE_MS, pauseRetryMs: PAUSE_RETRY_MS } = TIMINGS
/** Room for a slow machine on top of the intervals a wait spans. */
const SLACK_MS = 30_000

let own: OwnStack
/** every body this file received from the API, for the secrets check at the end */
const seen: string[] = []
/** what must never show: every sandbox's password and tokens, gathered as sandboxes appear */
const secrets = new Set<string>()

beforeAll(async () => {
  own = await startOwnStack(
    'e2b',
    { SESSION_IDLE_SECONDS: String(IDLE_SECONDS), CANARY_API_KEY: CANARY_PROVIDER_KEY, TIMINGS: JSON.stringify(TIMINGS) },
    // A provider speaking Anthropic's API besides the default one, for a Claude Code session.
    { e2bStandIn: { apiKey: E2B_KEY }, scriptedModel: true, opencodeConfig: (c) => ({ ...inDialect('anthropic')(c), model: c.model, small_model: c.small_model }) },
  )
})

afterAll(async () => {
  await own?.close()
})

const standIn = () => own.stack.e2b!

/** The sandbox's environment as opencode gets it: its env file (owner-only), never E2B's create-time environment. */
function sandboxEnv(sb: E2BStandInSandbox): Record<string, string> {
  const file = join(sb.home, '.sandbox-env')
  if (!existsSync(file)) return {}
  expect(statSync(file).mode & 0o777).toBe(0o600)
  const env: Record<string, string> = {}
  for (const m of readFileSync(file, 'utf8').matchAll(/^export (\w+)='((?:[^']|'\\'')*)'$/gm)) env[m[1]!] = m[2]!.replaceAll("'\\''", "'")
  return env
}

async function onlySandbox(sessionId: string): Promise<E2BStandInSandbox> {
  return waitFor(`one sandbox for ${sessionId}`, async () => {
    const mine = standInSandboxesOf(standIn(), sessionId)
    for (const sb of mine) {
      for (const secret of [sandboxEnv(sb).OPENCODE_SERVER_PASSWORD, sb.trafficAccessToken, sb.envdAccessToken]) {
        if (secret) secrets.add(secret)
      }
    }
    // A sandbox counts once its env file is written (right after E2B made it).
    return mine.length === 1 && sandboxEnv(mine[0]!).OPENCODE_SERVER_PASSWORD ? mine[0] : undefined
  })
}

/** The sandbox has processes, and every one is stopped (state T in /proc), as a paused VM's would be. */
function allStopped(sb: E2BStandInSandbox): boolean {
  return sb.pids.length > 0 && sb.pids.every((pid) => [undefined, 'T'].includes(processState(pid)))
}

/** The pid of the sandbox's opencode server (the binary, under the npm wrapper). */
function opencodePids(sb: E2BStandInSandbox): number[] {
  return sb.pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serve')
    } catch {
      return false
    }
  })
}

async function reply(stream: EventStream, id: string, text: string): Promise<SseEvent> {
  const messageId = await sendMessage(id, scripted({ reply: text }))
  const done = await stream.until(isReplyTo(messageId))
  expect(done.data.text).toBe(text)
  return done
}

const sandboxEvents = (stream: EventStream) =>
  stream.events.filter((e) => e.event === 'sandbox.status').map((e) => e.data as Json)

/** Runs `steps` with a stream of the session from its start (or from now), kept for the secrets check. */
async function watching(id: string, steps: (stream: EventStream) => Promise<void>, from: 'start' | 'now' = 'start') {
  const stream = from === 'now' ? await streamFromNow(id) : new EventStream(id, { after: 0 })
  try {
    await steps(stream)
  } finally {
    await stream.close()
    seen.push(JSON.stringify(stream.events))
  }
}

async function keep(res: Promise<{ status: number; body: Json }>) {
  const r = await res
  seen.push(JSON.stringify(r.body))
  return r
}

describe('sessions on E2B (through the stand-in)', () => {
  it('is ready: E2B answers the key', async () => {
    const res = await api('/ready', { key: null })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ ready: true, provider: 'e2b', missing: [], reasons: [] })
  })

  it('creates a sandbox from the template with secrets only in its environment, and streams a reply', async () => {
    const id = await createSession({ title: 'e2b' })
    await watching(id, async (stream) => {
      await waitForStatus(id, 'idle')
      const sb = await onlySandbox(id)
      expect(sb.state).toBe('running')
      // Provider keys stay in the Worker: opencode reaches its model through the gateway.
      const env = sandboxEnv(sb)
      expect(JSON.stringify(env)).not.toContain(CANARY_PROVIDER_KEY)
      expect(JSON.parse(env.OPENCODE_CONFIG_CONTENT!).provider.local.options.baseURL).toMatch(/\/v1\/gateway\/local$/)
      expect(env.OPENCODE_SERVER_PASSWORD).toMatch(/.{16,}/)
      // E2B keeps create-time environment for every process (and a fork copies it): nothing secret goes there.
      expect(sb.envs).toEqual({})
      // Created without public traffic: every request to opencode needs the traffic token.
      expect(sb.trafficAccessToken).toBeTruthy()
      const cmdlines = sb.pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
      expect(cmdlines.some((c) => c.includes('serve') && c.includes('4096'))).toBe(true)
      for (const c of cmdlines) expect(c).not.toContain(env.OPENCODE_SERVER_PASSWORD)

      await reply(stream, id, 'Hello from a sandbox in the stand-in.')
      expect(sandboxEvents(stream).map((e) => e.state)).toContain('ready')
      await keep(api(`/v1/sessions/${id}`))
      await keep(api(`/v1/sessions/${id}/messages`))
    })
  })

  it('runs a Claude Code session through the template’s ACP bridge, started by envd, and streams its reply as deltas', async () => {
    const id = await createSession({ runtime: 'claude-code' })
    await watching(id, async (stream) => {
      await stream.until(isIdleEvent, 120_000)
      const sb = await onlySandbox(id)
      const cmdlines = sb.pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8'))
      expect(cmdlines.some((c) => c.includes('acp-bridge.mjs') && c.includes('claude-code-acp'))).toBe(true)
      expect(JSON.stringify(sandboxEnv(sb))).not.toContain(CANARY_PROVIDER_KEY)
      const text = Array.from({ length: 20 }, (_, i) => `e2b${i}`).join(' ')
      const messageId = await sendMessage(id, scripted({ reply: text, delayMs: 20 }))
      const done = await stream.until(isReplyTo(messageId))
      expect(done.data.text).toBe(text)
      expect(deltasOf(stream.events, done.data.messageId as string)).toBe(text)
      expect(stream.events.filter((e) => e.event === 'message.delta' && e.data.messageId === done.data.messageId).length).toBeGreaterThan(1)
      await keep(api(`/v1/sessions/${id}`, { method: 'DELETE' }))
    })
  })

  it('clones a repository, writes files and runs setup in the sandbox, and reads the workspace back', async () => {
    const repo = fixtureRepo('e2b-repo', { 'README.md': 'from the fixture repo\n' })
    try {
      const id = await createSession({
        repo: { url: `file://${repo}` },
        files: [{ path: 'notes/todo.txt', content: 'written at start\n' }],
        setup: 'cat README.md notes/todo.txt > setup-output.txt',
      })
      await watching(id, async (stream) => {
        await stream.until(isIdleEvent)
        const steps = sandboxEvents(stream).map((e) => e.reason ?? e.state)
        // A repository and a setup: the prepared workspace becomes the tenant's snapshot (snapshots.test.ts).
        expect(steps).toEqual(['starting', 'creating', 'cloning', 'writing_files', 'setup', 'saving_snapshot', 'starting_agent', 'ready'])
        const file = await keep(api(`/v1/sessions/${id}/files?path=setup-output.txt`))
        expect(file.body).toEqual({ path: 'setup-output.txt', type: 'text', content: 'from the fixture repo\nwritten at start\n' })
        await keep(api(`/v1/sessions/${id}`, { method: 'DELETE' }))
      })
    } finally {
      rmSync(repo, { recursive: true, force: true })
    }
  })

  it("puts a message's files into the sandbox as a stream through envd, byte for byte, where the agent reads them by path", async () => {
    const id = await createSession({ permissions: { bash: 'allow' } })
    // Larger than a stored piece (1 MiB), so the file is put together from several.
    const file = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `line ${i} ✓\n`).join(''))
    const command = 'sha256sum ~/attachments/*/1-notes.txt'
    await watching(id, async (stream) => {
      await stream.until(isIdleEvent)
      const sent = await keep(
        api(`/v1/sessions/${id}/messages`, {
          body: {
            text: scripted({ steps: [{ tool: { name: 'bash', args: { command, description: 'check the file' } } }, { text: 'checked' }] }),
            attachments: [{ filename: 'notes.txt', mime: 'text/plain', data: file.toString('base64') }],
          },
        }),
      )
      await stream.until(isReplyTo(sent.body.messageId as string))
      const printed = stream.events.filter((e) => e.event === 'tool.updated' && e.data.state === 'completed').at(-1)?.data.output
      expect(printed).toContain(createHash('sha256').update(file).digest('hex'))
      await keep(api(`/v1/sessions/${id}`, { method: 'DELETE' }))
    })
  })

  /** The session of the pause test, which the keepalive and delete tests go on with: each is an agent's boot fewer. */
  let resumed: string

  it('pauses an idle sandbox with its memory, and resumes the same one on the next message', async () => {
    const id = (resumed = await createSession())
    await watching(id, async (stream) => {
      await reply(stream, id, 'first, before the pause')
      const before = await onlySandbox(id)
      const paused = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'paused', 60_000)
      expect(paused.data.reason).toBe('idle')
      const asleep = await onlySandbox(id)
      expect(asleep.state).toBe('paused')
      expect(allStopped(asleep)).toBe(true)

      await reply(stream, id, 'second, after the resume')
      const after = await onlySandbox(id)
      expect(after.sandboxId).toBe(before.sandboxId)
      expect(after.state).toBe('running')
      // The same opencode process served both turns: the pause kept it, nothing was restarted.
      expect(opencodePids(before)).not.toEqual([])
      expect(opencodePids(after)).toEqual(expect.arrayContaining(opencodePids(before)))
      expect(sandboxEvents(stream).filter((e) => e.state === 'restarting' || e.state === 'lost')).toEqual([])
      const states = sandboxEvents(stream).filter((e) => e.state !== 'starting' || e.reason === 'resuming')
      expect(states.slice(-3)).toMatchObject([
        { state: 'paused', reason: 'idle' },
        { state: 'starting', reason: 'resuming' },
        { state: 'ready', reason: 'resumed' },
      ])
      const history = await keep(api(`/v1/sessions/${id}/messages`))
      expect(history.body).toHaveLength(4)
    })
  })

  /** The session of the crash test, which the next one pauses and resumes. */
  let crashed: string

  it('restarts opencode at once when it crashes, on envd ending its process stream with the exit', async () => {
    const id = (crashed = await createSession())
    await watching(id, async (stream) => {
      await reply(stream, id, 'before the crash')
      const sb = await onlySandbox(id)
      for (const pid of opencodePids(sb)) process.kill(pid, 'SIGKILL')
      const restarting = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'restarting')
      // The session heard it from the process's end, not from a health check giving up.
      expect(restarting.data.detail).toMatch(/^opencode exited: /)
      await reply(stream, id, 'after the crash')
      expect((await onlySandbox(id)).sandboxId).toBe(sb.sandboxId)
    })
  })

  it('restarts opencode on resume when the paused sandbox lost it', async () => {
    const id = crashed
    await watching(id, async (stream) => {
      await waitFor('the idle sandbox to pause', async () => (await onlySandbox(id)).state === 'paused', 60_000)
      const sb = await onlySandbox(id)
      for (const pid of opencodePids(sb)) process.kill(pid, 'SIGKILL')
      await waitFor('opencode to be gone', async () => opencodePids(await onlySandbox(id)).length === 0)

      await reply(stream, id, 'after a restart')
      expect(sandboxEvents(stream).some((e) => e.state === 'restarting')).toBe(true)
      expect((await onlySandbox(id)).sandboxId).toBe(sb.sandboxId)
    }, 'now')
  })

  it('replaces a sandbox that E2B no longer has, and says so on the stream', async () => {
    const id = await createSession()
    await watching(id, async (stream) => {
      await reply(stream, id, 'in the first sandbox')
      // The turn's checkpoint is saved just after its reply: the loss comes once it is.
      await waitFor('the first checkpoint', async () => (await api(`/v1/sessions/${id}/checkpoints`)).body.checkpoints?.length > 0)
      const first = await onlySandbox(id)
      const connection: ConnectionOpts = { apiKey: E2B_KEY, apiUrl: standIn().apiUrl, sandboxUrl: standIn().sandboxUrl }
      await Sandbox.kill(first.sandboxId, connection)
      await waitFor('the sandbox to be gone', async () => !standIn().list().some((s) => s.sandboxId === first.sandboxId))

      // Whether the session noticed at once (its stream dropped) or only on resuming, it says so.
      await reply(stream, id, 'in a new sandbox')
      const lost = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'lost')
      expect(lost.data.reason).toBeTruthy()
      const second = await onlySandbox(id)
      expect(second.sandboxId).not.toBe(first.sandboxId)
      expect(stream.events.indexOf(lost)).toBeLessThan(stream.events.length - 1)
      // The new sandbox got the last checkpoint back (docs/checkpoints.md), through E2B's files and commands.
      expect(stream.events.find((e) => e.event === 'sandbox.status' && e.data.step === 'restored')?.data.detail).toMatch(/^checkpoint \d+$/)
      expect(stream.events.filter((e) => e.event === 'error')).toEqual([])
    })
  })

  it('extends the E2B timeout past the new idle deadline on keepalive', async () => {
    const id = resumed
    await waitForStatus(id, 'idle')
    // It has paused since its last message: one keepalive wakes it, the one under test extends a running sandbox.
    await keep(api(`/v1/sessions/${id}/keepalive`, { method: 'POST', body: {} }))
    // A keepalive answers before the resume it starts is done; a read of the workspace waits for it.
    await api(`/v1/sessions/${id}/files?path=README.md`)
    const sb = await onlySandbox(id)
    const res = await keep(api(`/v1/sessions/${id}/keepalive`, { method: 'POST', body: {} }))
    expect(res.status).toBe(200)
    const now = await onlySandbox(id)
    expect(now.endAt.getTime()).toBeGreaterThan(sb.endAt.getTime())
    expect(now.endAt.getTime()).toBeGreaterThan(Date.parse(res.body.expiresAt))
  })

  it('resumes a paused sandbox on keepalive', async () => {
    const id = resumed
    await watching(id, async (stream) => {
      await waitFor('the idle sandbox to pause', async () => (await onlySandbox(id)).state === 'paused', 60_000)
      expect((await keep(api(`/v1/sessions/${id}/keepalive`, { method: 'POST', body: {} }))).status).toBe(200)
      await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'ready' && e.data.reason === 'resumed')
      expect((await onlySandbox(id)).state).toBe('running')
    }, 'now')
  })

  it('retries creating a sandbox through a short E2B outage, saying so on the stream', async () => {
    standIn().failNextCreates(1)
    const id = await createSession()
    await watching(id, async (stream) => {
      await stream.until(isIdleEvent)
      const retry = stream.events.find(
        (e) => e.event === 'sandbox.status' && String(e.data.reason).startsWith('retrying'),
      )
      expect(retry?.data.reason).toMatch(/503|capacity/)
      await onlySandbox(id)
    })
  })

  it('waits out E2B rate-limiting creates (429) instead of failing the session, backing off and saying so', async () => {
    // More refusals than the 3 attempts a plain outage gets: a rate limit is waited out longer.
    standIn().rateLimitNextCreates(4)
    const id = await createSession()
    try {
      await watching(id, async (stream) => {
        await stream.until(isIdleEvent, 90_000)
        const retries = stream.events.filter((e) => e.event === 'sandbox.status' && String(e.data.reason).startsWith('retrying'))
        expect(retries).toHaveLength(4)
        expect(retries[0]!.data.reason).toMatch(/rate limit/i)
        const creates = standIn().calls('create').filter((call) => call.metadata?.sessionId === id)
        expect(creates.map((call) => call.answer)).toEqual([429, 429, 429, 429, 201])
        // Each retry waited longer than the one before: 1, 2, 4, 8 s at least.
        const gaps = creates.slice(1).map((call, i) => call.at.getTime() - creates[i]!.at.getTime())
        gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(1_000 * 2 ** i))
        await onlySandbox(id)
      })
    } finally {
      standIn().rateLimitNextCreates(0)
    }
  })

  it('fails the session with a clear error when E2B stays down, after trying 3 times', async () => {
    standIn().failNextCreates(10)
    const attemptsBefore = standIn().createAttempts()
    const id = await createSession()
    try {
      const failed = await waitForStatus(id, 'failed')
      expect(failed.error.code).toBe('sandbox_unavailable')
      expect(standIn().createAttempts() - attemptsBefore).toBe(3)
      expect(standInSandboxesOf(standIn(), id)).toEqual([])
    } finally {
      standIn().failNextCreates(0)
    }
  })

  it('kills a sandbox whose first command fails after create, at once: each by its id, before the session says it failed', async () => {
    // Every create the session tries makes a sandbox that refuses its first command.
    standIn().breakNextSandboxes(10)
    const id = await createSession()
    try {
      const failed = await waitForStatus(id, 'failed')
      // Read once the session shows failed: any kill in it came before, none was left for a later alarm or E2B's timeout.
      const kills = standIn().calls('kill')
      expect(failed.error.message).toMatch(/could not be started/)
      const made = standIn().calls('create').filter((call) => call.metadata?.sessionId === id && call.sandboxId)
      expect(made.length).toBeGreaterThanOrEqual(1)
      for (const [i, create] of made.entries()) {
        const killed = kills.filter((call) => call.sandboxId === create.sandboxId)
        expect(killed, `the kill of sandbox ${create.sandboxId}`).toMatchObject([{ answer: 204 }])
        // At its own failure: before the session tried another.
        if (made[i + 1]) expect(killed[0]!.at.getTime()).toBeLessThanOrEqual(made[i + 1]!.at.getTime())
      }
      expect(standInSandboxesOf(standIn(), id)).toEqual([])
    } finally {
      standIn().breakNextSandboxes(0)
    }
  })

  it('keeps an idle sandbox running when E2B refuses to pause it, says so, and pauses it on a later try, backing off', async () => {
    const id = await createSession()
    standIn().refuseNextPauses(2, { sessionId: id })
    try {
      await watching(id, async (stream) => {
        await waitForStatus(id, 'idle')
        const sb = await onlySandbox(id)
        const refused = await stream.until((e) => e.event === 'error' && e.data.code === 'sandbox_pause_failed', IDLE_SECONDS * 1000 + WAKE_MS + SLACK_MS)
        expect(refused.data.message).toMatch(/could not be paused/)
        // Not paused is not said to be: the session is idle with its sandbox running, and works.
        expect((await api(`/v1/sessions/${id}`)).body.status).toBe('idle')
        expect((await onlySandbox(id)).state).toBe('running')
        expect(sandboxEvents(stream).map((e) => e.state)).not.toContain('paused')

        const paused = await stream.until(
          (e) => e.event === 'sandbox.status' && e.data.state === 'paused',
          PAUSE_RETRY_MS + 2 * PAUSE_RETRY_MS + 2 * WAKE_MS + SLACK_MS,
        )
        expect(paused.data.reason).toBe('idle')
        const pauses = standIn().calls('pause').filter((call) => call.sandboxId === sb.sandboxId)
        expect(pauses.map((call) => call.answer)).toEqual([500, 500, 204])
        // Each refusal was said, and nothing claimed a pause before the one E2B accepted.
        const errors = stream.events.filter((e) => e.event === 'error' && e.data.code === 'sandbox_pause_failed')
        expect(errors).toHaveLength(2)
        expect(stream.events.filter((e) => e.event === 'sandbox.status' && e.data.state === 'paused')).toEqual([paused])
        expect(stream.events.indexOf(errors[1]!)).toBeLessThan(stream.events.indexOf(paused))
        // Backing off: the second try waited the first delay after the first refusal, the third twice that.
        const [first, second, third] = pauses.map((call) => call.at.getTime())
        expect(second! - first!).toBeGreaterThanOrEqual(PAUSE_RETRY_MS)
        expect(third! - second!).toBeGreaterThanOrEqual(2 * PAUSE_RETRY_MS)
        const asleep = await onlySandbox(id)
        expect(asleep.state).toBe('paused')
        expect(allStopped(asleep)).toBe(true)
      })
    } finally {
      standIn().refuseNextPauses(0)
    }
  }, 2 * IDLE_SECONDS * 1000 + 3 * PAUSE_RETRY_MS + 3 * WAKE_MS + 3 * SLACK_MS)

  it('ends a deleted session at once while E2B cannot be reached to kill its sandbox, and kills it on a later wake', async () => {
    const id = await createSession()
    await waitForStatus(id, 'idle')
    const sb = await onlySandbox(id)
    standIn().failNextKills(2, { how: 'drop', only: { sessionId: id } })
    try {
      const res = await keep(api(`/v1/sessions/${id}`, { method: 'DELETE' }))
      expect(res.status).toBe(200)
      expect(res.body.status).toBe('ended')
      expect((await api(`/v1/sessions/${id}/messages`, { body: { text: 'too late' } })).status).toBe(409)
      await waitFor('the sandbox to be killed', () => standInSandboxesOf(standIn(), id).length === 0, 2 * WAKE_MS + 2 * SLACK_MS)
      const kills = standIn().calls('kill').filter((call) => call.sandboxId === sb.sandboxId)
      // The session's own kill, tried again until E2B confirmed it; not E2B's timeout.
      expect(kills.map((call) => call.answer)).toEqual(['dropped', 'dropped', 204])
      // On the session's wakes, not in a tight loop.
      const [first, second, third] = kills.map((call) => call.at.getTime())
      expect(second! - first!).toBeGreaterThanOrEqual(WAKE_MS)
      expect(third! - second!).toBeGreaterThanOrEqual(WAKE_MS)
      expect((await api(`/v1/sessions/${id}`)).body.status).toBe('ended')
    } finally {
      standIn().failNextKills(0)
    }
  }, 3 * WAKE_MS + 3 * SLACK_MS)

  it('kills the sandbox when the session is deleted', async () => {
    const id = resumed
    await waitForStatus(id, 'idle')
    await onlySandbox(id)
    const res = await keep(api(`/v1/sessions/${id}`, { method: 'DELETE' }))
    expect(res.body.status).toBe('ended')
    await waitFor('the sandbox to be killed', async () => standInSandboxesOf(standIn(), id).length === 0)
  })

  it('never shows the sandbox password, the traffic token, the E2B key or a provider key', async () => {
    // three per sandbox, of the six or more sandboxes above
    expect(secrets.size).toBeGreaterThanOrEqual(18)
    const list = await keep(api('/v1/sessions'))
    expect(list.status).toBe(200)
    const everything = seen.join('\n') + readFileSync(own.logFile, 'utf8')
    for (const secret of [...secrets, E2B_KEY, CANARY_PROVIDER_KEY, standIn().sandboxUrl, standIn().apiUrl]) {
      expect(everything).not.toContain(secret)
    }
  })
})
