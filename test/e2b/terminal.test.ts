import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, EventStream, TEST_KEYS, waitForStatus } from '../helpers'
import { openTerminal, terminalOf } from '../helpers/terminal'
import { echoThrough, startedServerPort } from '../helpers/preview-server'

/**
 * The terminal on E2B: the Worker drives E2B's PTY API through the real `e2b` SDK (envd's
 * Process service: a Start with a size, `pty` data, SendInput, Update), against the stand-in.
 * Sessions go idle after a few seconds here, so a pause is seen within a test.
 */

const E2B_KEY = 'e2b_test_key_0123456789abcdef'
const IDLE_SECONDS = 8
const TEST_KEY = TEST_KEYS[0]

let own: OwnStack
beforeAll(async () => {
  own = await startOwnStack('e2b-terminal', { SESSION_IDLE_SECONDS: String(IDLE_SECONDS) }, { e2bStandIn: { apiKey: E2B_KEY }, scriptedModel: true })
})
afterAll(async () => {
  await own?.close()
})

describe('a terminal on E2B', () => {
  let id: string
  let preview: string
  beforeAll(async () => {
    // bash allowed: the preview's test has the agent start a server.
    id = await createSession({ files: [{ path: 'marker.txt', content: 'on e2b\n' }], permissions: { bash: 'allow' } })
    await waitForStatus(id, 'idle')
  })

  it('runs a shell in the workspace through E2B’s PTY: echo, resize, and exit with its code', async () => {
    const terminal = await terminalOf(id, {}, { cols: '90', rows: '30' })
    terminal.type('cat marker.txt; echo sum-$((40+2)); stty size\r')
    await terminal.until(/on e2b[\s\S]*sum-42[\s\S]*30 90\r\n/)
    terminal.send({ type: 'resize', cols: 132, rows: 43 })
    const mark = terminal.output().length
    terminal.type('stty size\r')
    await terminal.until(/43 132\r\n/, mark)
    terminal.type('exit 5\r')
    expect(await terminal.closed()).toEqual({ code: 1000, reason: 'the shell exited' })
    expect(terminal.messages()).toEqual([{ type: 'exit', exitCode: 5 }])
  })

  it('closes when the idle sandbox pauses, and a new one resumes it', async () => {
    const stream = new EventStream(id)
    const terminal = await terminalOf(id)
    terminal.type('echo wait$((1))ing\r')
    await terminal.until(/wait1ing/)
    await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'paused', 60_000)
    expect(await terminal.closed()).toEqual({ code: 4001, reason: 'the sandbox paused' })
    await stream.close()

    // Opening a terminal resumes the paused sandbox, as a keepalive would.
    const again = await terminalOf(id)
    again.type('cat marker.txt\r')
    await again.until(/on e2b\r\n/)
    again.close()
    await again.closed()
  })

  it('keeps the sandbox’s password and tokens out of the shell’s environment and out of every answer of opencode’s API', async () => {
    const sandbox = own.stack.e2b!.list().find((sb) => sb.metadata.sessionId === id)!
    const password = /OPENCODE_SERVER_PASSWORD='([^']+)'/.exec(readFileSync(join(sandbox.home, '.sandbox-env'), 'utf8'))![1]!
    const secrets = [password, sandbox.trafficAccessToken!, sandbox.envdAccessToken, own.stack.e2b!.sandboxUrl]
    const terminal = await terminalOf(id)
    terminal.type('env; echo env-$((1))-done\r')
    await terminal.until(/env-1-done/)
    terminal.close()
    await terminal.closed()
    const answers = [terminal.output()]
    for (const path of ['/session', '/config', '/config/providers', '/provider', '/path', '/agent', '/project/current']) {
      const res = await fetch(`${own.stack.url}/v1/sessions/${id}/opencode${path}`, { headers: { authorization: `Bearer ${TEST_KEY}` } })
      expect(res.status, path).toBe(200)
      answers.push(await res.text())
    }
    for (const answer of answers) for (const secret of secrets) expect(answer).not.toContain(secret)
  })

  it('announces the port the agent’s server listens on, and serves it through E2B’s proxy at a preview URL', async () => {
    const stream = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    const port = await startedServerPort(id, stream, 'preview-e2b')
    await stream.close()
    const made = await api(`/v1/sessions/${id}/previews`, { body: { port } })
    expect(made.status).toBe(201)
    preview = made.body.url as string
    const page = await fetch(`${preview}from-e2b`)
    const text = await page.text()
    expect(text).toBe('preview-ok GET /from-e2b cookie= auth=')
    expect(await echoThrough(`${preview}ws`, 'hi')).toBe('echo:hi')
    const sandbox = own.stack.e2b!.list().find((sb) => sb.metadata.sessionId === id)!
    for (const secret of [sandbox.trafficAccessToken!, sandbox.envdAccessToken, own.stack.e2b!.sandboxUrl]) {
      expect(JSON.stringify(made.body)).not.toContain(secret)
      expect(text).not.toContain(secret)
      expect(JSON.stringify([...page.headers])).not.toContain(secret)
    }

    // The idle sandbox pauses; the preview's next request brings it back, as a keepalive would.
    const paused = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    await paused.until((e) => e.event === 'sandbox.status' && e.data.state === 'paused', 60_000)
    await paused.close()
    const again = await fetch(`${preview}after-pause`)
    expect(await again.text()).toBe('preview-ok GET /after-pause cookie= auth=')
  })

  it('is refused for a session that has ended, and so is its preview', async () => {
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
    expect(await openTerminal(id)).toMatchObject({ status: 409 })
    expect((await fetch(`${preview}gone`)).status).toBe(409)
  })
})
