import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGitHubStandIn, type GitHubStandIn } from '../../local/github-standin'
import { inDialect } from '../../local/model-server'
import { startEgressRecorder } from '../helpers/egress-recorder'
import { MCP_FIXTURE } from '../helpers/mcp-fixture'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import {
  api,
  createSession,
  deltasOf,
  EventStream,
  expectGapless,
  finished,
  idleAfter,
  isIdleEvent,
  isReplyTo,
  processAlive,
  processesWith,
  sandboxesOf,
  sandboxHost,
  scripted,
  sendMessage,
  TEST_KEYS,
  tenantIdOf,
  waitFor,
  waitForStatus,
  words,
  type Json,
} from './helpers'

/**
 * Claude Code as a session's runtime, through HTTP: the real claude-code-acp (Claude Code by
 * @anthropic-ai/claude-agent-sdk) in a local sandbox behind the ACP bridge, its model the
 * scripted one in Anthropic's dialect reached through the Worker's gateway; and Codex (codex-acp)
 * the same way in OpenAI's Responses dialect. One session and one run per runtime, on a stack whose
 * deployment has a provider speaking each API, and a GitHub stand-in the runs open pull requests on.
 */

const APP_ID = '4343'
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
let gh: GitHubStandIn
let root: string
let stack: OwnStack
const own = () => stack
/** Every call out of this stack's sandboxes that honours a proxy (the agents' HTTP clients do): there must be none. */
let egress: Awaited<ReturnType<typeof startEgressRecorder>>

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'osw-runtimes-gh-'))
  gh = await startGitHubStandIn({ root, app: { id: APP_ID, publicKey } })
  await gh.createRepo('acme', 'agents', { 'README.md': 'agents\n' })
  egress = await startEgressRecorder()
  // Both dialects: Claude Code takes the Anthropic-speaking provider, Codex the Responses one (the default model).
  stack = await startOwnStack(
    'runtimes',
    {
      GITHUB_TENANT_REPOS: JSON.stringify({ [tenantIdOf(TEST_KEYS[0])]: ['acme/*'] }),
      GITHUB_API_URL: gh.url,
      GITHUB_APP_ID: APP_ID,
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString().replace(/\n/g, '\\n'),
    },
    // The sandboxes' network sends every call to a host but this machine's (the Worker, the git stand-in) to the recorder.
    { scriptedModel: true, opencodeConfig: (c) => inDialect('responses')(inDialect('anthropic')(c)), networkEnv: egress.env(['127.0.0.1', 'localhost']) },
  )
})

afterAll(async () => {
  await stack?.close()
  await gh?.close()
  await egress?.close()
  rmSync(root, { recursive: true, force: true })
})
const modelBase = () => own().stack.model!.url.replace(/\/v1$/, '')

/** Environment of a process, as /proc holds it. */
const environOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  )

/**
 * The Worker restarted while the agent streams a reply, with a message queued behind it: a client
 * resuming with Last-Event-ID misses nothing, the reply ends, the queued message is answered, and
 * the conversation goes on. Answers the stream that resumed (the one given is closed).
 */
async function restartMidTurn(id: string, stream: EventStream): Promise<EventStream> {
  // The reply outlasts the old Worker's shutdown (15 s at most before it is killed): the restart cuts it, whatever the load.
  const running = await sendMessage(id, scripted({ reply: words(600, 'restart'), delayMs: 40 }))
  const queued = await sendMessage(id, scripted({ reply: 'queued before the restart' }))
  await stream.until((e) => e.event === 'message.delta' && stream.events.some((c) => c.event === 'message.created' && c.data.parentId === running && c.data.messageId === e.data.messageId))
  await stream.close()

  await own().stack.restartWorker()

  const resumed = new EventStream(id, { lastEventId: stream.events.at(-1)!.id })
  const last = await resumed.until(isReplyTo(queued), 110_000)
  await resumed.until(idleAfter(last.id!))
  const all = [...stream.events, ...resumed.events]
  expectGapless(all)
  // The reply clients saw opened is completed, with what was streamed into it.
  const opened = all.find((e) => e.event === 'message.created' && e.data.parentId === running)!
  const ended = all.find((e) => e.event === 'message.completed' && e.data.parentId === running)!
  expect(ended.data.messageId).toBe(opened.data.messageId)
  expect(ended.data.text).toBe(deltasOf(all, opened.data.messageId as string))
  expect(last.data.text).toBe('queued before the restart')
  const after = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'after the restart' }) } })
  expect(after.body.reply.text).toBe('after the restart')
  return resumed
}

/**
 * A long reply is aborted once it is streaming: it ends `aborted`, the session is idle again, and
 * the next message (`nextReply`) is answered. Answers the abort's answer and the ended reply.
 */
async function abortMidReply(id: string, stream: EventStream, nextReply: string): Promise<{ aborted: Json; ended: Json }> {
  const messageId = await sendMessage(id, scripted({ reply: words(400, 'slow'), delayMs: 50 }))
  await stream.until((e) => e.event === 'message.delta' && stream.events.some((c) => c.event === 'message.created' && c.data.parentId === messageId && c.data.messageId === e.data.messageId))
  const aborted = await api(`/v1/sessions/${id}/abort`, { method: 'POST', body: {} })
  expect(aborted.status).toBe(200)
  const ended = await stream.until((e) => e.event === 'message.completed' && e.data.parentId === messageId)
  expect(ended.data.error).toMatchObject({ code: 'aborted' })
  await waitForStatus(id, 'idle')
  const next = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: nextReply }) } })
  expect(next.body.reply.text).toBe(nextReply)
  return { aborted: aborted.body, ended: ended.data }
}

/** A stream resumed from the tenth event from the end gets exactly the events after it. */
async function expectReplayAfter(id: string, stream: EventStream) {
  const from = stream.events.at(-10)!.id!
  const replay = new EventStream(id, { lastEventId: from })
  try {
    const last = stream.events.at(-1)!.id!
    await replay.until((e) => e.id === last)
    expect(replay.ids.filter((n) => n <= last)).toEqual(stream.ids.filter((n) => n > from && n <= last))
  } finally {
    await replay.close()
  }
}

/** The run's pull request as GitHub holds it: its branch has `file` as the agent wrote it. */
async function expectPullRequest(run: Json, file: string, content: string) {
  expect(run.result.pullRequest).toMatchObject({ state: 'opened', number: expect.any(Number), branch: `opencode/run-${run.id}` })
  const pull = gh.pulls.find((p) => p.number === run.result.pullRequest.number)!
  expect(pull).toMatchObject({ repo: 'acme/agents', base: 'main', head: run.result.pullRequest.branch })
  expect(await gh.git('acme', 'agents', ['show', `${pull.head}:${file}`])).toBe(content)
}

/** What a session brings its agent: instructions, a skill, and an MCP server started from a workspace file. */
const configured = (runtime: string) => ({
  runtime,
  instructions: `Speak like a lighthouse keeper (${runtime}).`,
  skills: [{ name: 'tide-tables', description: `Reads tide tables for ${runtime}`, instructions: 'Read TIDES.md first.' }],
  mcp: { fixture: { type: 'local', command: ['node', 'mcp-fixture.mjs'] } },
  files: [{ path: 'mcp-fixture.mjs', content: MCP_FIXTURE }],
})

/** The agent's first model call carries the session's instructions, its skill and the MCP server's tool. */
async function expectConfigured(runtime: string) {
  const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
  const first = JSON.stringify(requests.find((r) => JSON.stringify(r).includes(`lighthouse keeper (${runtime})`)))
  expect(first).toContain(`Reads tide tables for ${runtime}`)
  // Claude Code names the tool mcp__fixture__whisper; Codex offers it as whisper in a namespace mcp__fixture.
  const tools = JSON.stringify(requests.filter((r) => JSON.stringify(r).includes(`lighthouse keeper (${runtime})`)).map((r) => r.tools))
  expect(tools).toContain('mcp__fixture')
  expect(tools).toContain('whisper')
}

/** Every process below `root` (its children, theirs, ...), `root` included. */
function treeOf(root: number): number[] {
  const all = [root]
  for (let i = 0; i < all.length; i++) all.push(...processesWith(1, all[i]!))
  return all
}

type Socket = { proto: string; local: number; remote: string; remotePort: number; state: string }

/** The sockets of the system, by inode, as /proc/net lists them (ports decoded; addresses as hex). */
function socketsByInode(): Map<string, Socket> {
  const out = new Map<string, Socket>()
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let table = ''
    try {
      table = readFileSync(`/proc/net/${proto}`, 'utf8')
    } catch {
      continue
    }
    for (const line of table.trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      const [, localPort] = f[1]!.split(':')
      const [remote, remotePort] = f[2]!.split(':')
      out.set(f[9]!, { proto, local: parseInt(localPort!, 16), remote: remote!, remotePort: parseInt(remotePort!, 16), state: f[3]! })
    }
  }
  return out
}

/** Where a link points, or '' once it is gone (a descriptor closed while it is looked at). */
function linkOf(path: string): string {
  try {
    return readlinkSync(path)
  } catch {
    return ''
  }
}

/**
 * Watches the sockets the sandbox of session `id` holds, from its first process on, every 20 ms
 * until stopped: each socket any process of its tree had open when looked at. An agent restarted
 * is followed to its new process.
 */
function watchSockets(id: string) {
  const seen = new Map<string, Socket & { pid: number; command: string }>()
  let stopped = false
  const done = (async () => {
    let root: number | undefined
    while (!stopped) {
      if (root === undefined || !processAlive(root)) root = (await sandboxesOf(id))[0]?.opencodePid
      if (root !== undefined) {
        const sockets = socketsByInode()
        for (const pid of treeOf(root)) {
          let fds: string[] = []
          try {
            fds = readdirSync(`/proc/${pid}/fd`).map((fd) => linkOf(`/proc/${pid}/fd/${fd}`))
          } catch {
            // gone since the tree was listed
            continue
          }
          for (const fd of fds) {
            const inode = /^socket:\[(\d+)\]$/.exec(fd)?.[1]
            const socket = inode && sockets.get(inode)
            // The command, to tell who called out should one have.
            if (socket) seen.set(inode, { ...socket, pid, command: linkOf(`/proc/${pid}/exe`) })
          }
        }
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  return {
    async stop() {
      stopped = true
      await done
      return [...seen.values()]
    },
  }
}

/** 127.0.0.1 as /proc/net/tcp writes it (and as tcp6 writes its IPv4-mapped form). */
const LOOPBACK = ['0100007F', '0000000000000000FFFF00000100007F']

/**
 * What of `sockets` is not the sandbox's own business with the stack: listening, connections its
 * servers accepted (the bridge's from the Worker), and its agent's calls to the Worker's gateway
 * are; anything else (a TCP connection elsewhere, or any UDP socket, which here means a DNS
 * lookup) is a call out.
 */
function callsOut(sockets: Socket[]): Socket[] {
  const workerPort = Number(new URL(own().stack.url).port)
  const listening = new Set(sockets.filter((s) => s.state === '0A').map((s) => s.local))
  return sockets.filter((s) => !(s.proto.startsWith('tcp') && (s.state === '0A' || listening.has(s.local) || (s.remotePort === workerPort && LOOPBACK.includes(s.remote)))))
}

/**
 * Ends session `id` (its agent exits as a deleted session's does, sending whatever it holds), then
 * answers what its sandbox did outside the gateway as `sockets` (watched by watchSockets from its
 * start) and the egress recorder saw it, and whether it was seen calling the gateway.
 */
async function endAndStop(id: string, sockets: ReturnType<typeof watchSockets>) {
  const [sandbox] = await sandboxesOf(id)
  const tree = treeOf(sandbox!.opencodePid!)
  expect((await api(`/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(200)
  await waitFor('the sandbox’s processes to exit', () => (tree.some(processAlive) ? undefined : true), 60_000)
  const seen = await sockets.stop()
  return { recorded: [...egress.seen], sockets: callsOut(seen), calledGateway: seen.some((s) => s.remotePort === Number(new URL(own().stack.url).port)) }
}

describe('runtimes', () => {
  it('lists the runtimes with what each supports, and refuses one it does not know or cannot run', async () => {
    const agents = await api('/v1/agents')
    expect(agents.status).toBe(200)
    const runtimes = Object.fromEntries((agents.body.runtimes as Json[]).map((r) => [r.id, r]))
    expect(Object.keys(runtimes)).toEqual(['opencode', 'claude-code', 'codex'])
    expect(runtimes.opencode).toMatchObject({ default: true, available: true, supports: { revert: true, fork: true, questions: true } })
    expect(runtimes['claude-code']).toMatchObject({ default: false, available: true, modelApi: 'anthropic', supports: { revert: false, fork: false, questions: false } })

    const unknown = await api('/v1/sessions', { method: 'POST', body: { runtime: 'aider' } })
    expect(unknown.status).toBe(400)
    expect(unknown.body.error.code).toBe('validation_failed')
    expect(runtimes.codex).toMatchObject({ available: true, modelApi: 'responses', supports: { revert: false } })
    const profile = await api('/v1/sessions', { method: 'POST', body: { runtime: 'claude-code', agent: 'plan' } })
    expect(profile.status).toBe(400)
    expect(profile.body.error.code).toBe('unsupported_for_runtime')
  })
})

describe('a Claude Code session', () => {
  let id: string
  let stream: EventStream
  let sockets: ReturnType<typeof watchSockets>
  beforeAll(async () => {
    id = await createSession({ ...configured('claude-code'), title: 'claude' })
    sockets = watchSockets(id)
    stream = new EventStream(id)
    await stream.until(isIdleEvent, 120_000)
  })
  afterAll(async () => {
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('streams a reply as deltas, completes it, and answers ?wait=true; its agent has the session’s instructions, skill and MCP server', async () => {
    expect((await api(`/v1/sessions/${id}`)).body.runtime).toBe('claude-code')
    const text = words(30, 'cc')
    const messageId = await sendMessage(id, scripted({ reply: text, delayMs: 30 }))
    const done = await stream.until(isReplyTo(messageId))
    expect(done.data.text).toBe(text)
    expect(deltasOf(stream.events, done.data.messageId as string)).toBe(text)
    await expectConfigured('claude-code')
    expect(stream.events.filter((e) => e.event === 'message.delta' && e.data.messageId === done.data.messageId).length).toBeGreaterThan(1)

    const waited = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'short answer' }) } })
    expect(waited.status).toBe(200)
    expect(waited.body.reply.text).toBe('short answer')
  })

  it('asks before running a command, and runs it once answered through the permission route', async () => {
    const steps = [{ tool: { name: 'Bash', args: { command: 'echo ran-by-claude > proof.txt && cat proof.txt', description: 'write proof' } } }, { text: 'wrote: {{tool_result}}' }]
    const messageId = await sendMessage(id, scripted({ steps }))
    const asked = await stream.until((e) => e.event === 'permission.requested' && e.id! > 0 && !stream.events.some((r) => r.event === 'permission.resolved' && r.data.permissionId === e.data.permissionId))
    expect(asked.data).toMatchObject({ permission: 'Bash' })
    expect((await api(`/v1/sessions/${id}`)).body.pending.permissions).toHaveLength(1)
    // Another tenant cannot answer it, nor learn that it exists.
    const hostile = await api(`/v1/sessions/${id}/permissions/${asked.data.permissionId}`, { body: { reply: 'once' }, key: TEST_KEYS[1] })
    expect(hostile.status).toBe(404)
    const answered = await api(`/v1/sessions/${id}/permissions/${asked.data.permissionId}`, { body: { reply: 'once' } })
    expect(answered.status).toBe(200)
    const reply = await stream.until(isReplyTo(messageId))
    expect(stream.events.some((e) => e.event === 'tool.updated' && e.data.tool === 'Bash' && e.data.state === 'completed')).toBe(true)
    expect(reply.data.text).toContain('wrote')
    const file = await api(`/v1/sessions/${id}/files?path=proof.txt`)
    expect(file.body.content).toContain('ran-by-claude')
  })

  it('hands a message’s attachment to Claude Code as a link to the file in the sandbox', async () => {
    const mark = `attached-${Date.now()}`
    const content = `notes for ${mark}\n`
    const attachments = [{ filename: 'notes.txt', mime: 'text/plain', data: Buffer.from(content).toString('base64') }]
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'seen the notes' }, mark), attachments } })
    expect(res.status).toBe(200)
    expect(res.body.reply.text).toBe('seen the notes')
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    const sent = JSON.stringify(requests.findLast((r) => JSON.stringify(r.messages).includes(mark))!.messages)
    // Claude Code shows the model the link (named by the file as the sandbox keeps it); the file there holds the bytes sent.
    const link = /\(file:\/\/([^)"]*notes\.txt)\)/.exec(sent)!
    expect(readFileSync(decodeURIComponent(link[1]!), 'utf8')).toBe(content)
  })

  it('stops a turn on abort, and takes the next message', async () => {
    const { aborted, ended } = await abortMidReply(id, stream, 'after the abort')
    expect(aborted.aborted).toBe(true)
    expect(ended.text.length).toBeLessThan(words(400, 'slow').length)
  })

  it('replays exactly what came after Last-Event-ID', async () => {
    await expectReplayAfter(id, stream)
  })

  it('has no provider key in the sandbox: the agent reaches the model through the gateway with its session token', async () => {
    const [sandbox] = await sandboxesOf(id)
    const bridge = sandbox!.opencodePid!
    const agent = processesWith(1, bridge)[0]!
    const modelKey = own().stack.modelKey!
    for (const pid of [bridge, agent]) {
      const env = environOf(pid)
      expect(Object.values(env).some((v) => v.includes(modelKey))).toBe(false)
      expect(env.ANTHROPIC_BASE_URL).toMatch(/\/v1\/gateway\/claude$/)
    }
    // The model answered (it takes the deployment's key only): the gateway put the key in place of the session's token.
    expect(stream.events.some((e) => e.event === 'message.completed' && e.data.role === 'assistant' && e.data.text)).toBe(true)
    expect(environOf(agent).ANTHROPIC_AUTH_TOKEN).not.toBe(modelKey)
    expect(environOf(agent).DISABLE_TELEMETRY).toBe('1')
  })

  it('restarts a killed agent and loads its conversation again (ACP session/load)', async () => {
    const [sandbox] = await sandboxesOf(id)
    const agent = processesWith(1, sandbox!.opencodePid!)[0]!
    process.kill(agent, 'SIGKILL')
    await waitFor('the agent to be restarted', async () => (stream.events.some((e) => e.event === 'sandbox.status' && e.data.step === 'agent_restarted') ? true : undefined), 120_000)
    expect(processAlive(agent)).toBe(false)
    const mark = `after-restart-${Date.now()}`
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'back again' }, mark) } })
    expect(res.body.reply.text).toBe('back again')
    // The model was sent the conversation from before the kill along with the new message.
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    const last = JSON.stringify(requests.findLast((r) => JSON.stringify(r.messages).includes(mark))!.messages)
    expect(last).toContain('after the abort')
  })
  it('keeps its log and queue across a Worker restart mid-turn', async () => {
    stream = await restartMidTurn(id, stream)
  })

  it('gets a new sandbox with the files of its last checkpoint when its sandbox is killed, and a new agent given the earlier conversation', async () => {
    const [sandbox] = await sandboxesOf(id)
    await sandboxHost(`/sandboxes/${sandbox!.sandboxId}`, 'DELETE')
    await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'lost')
    const mark = `after-the-loss-${Date.now()}`
    const steps = [{ tool: { name: 'Bash', args: { command: 'cat proof.txt', description: 'read proof' } } }, { text: 'read: {{tool_result}}' }]
    // A command Claude Code knows to be read-only: it asks no permission.
    const messageId = await sendMessage(id, scripted({ steps }, mark))
    // The agent's tool read the file a turn wrote in the sandbox that is gone.
    expect((await stream.until(isReplyTo(messageId), 100_000)).data.text).toContain('ran-by-claude')
    const [replacement] = await sandboxesOf(id)
    expect(replacement!.sandboxId).not.toBe(sandbox!.sandboxId)
    const restored = stream.events.find((e) => e.event === 'sandbox.status' && e.data.step === 'restored')
    expect(restored?.data).toMatchObject({ state: 'ready', detail: expect.stringMatching(/^checkpoint \d+$/), memory: 'transcript' })
    // Claude Code cannot import a record: the model is sent the conversation from the session's log, the first message and its reply included.
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    const sent = JSON.stringify(requests.find((r) => JSON.stringify(r.messages).includes(mark))!.messages)
    const quoted = (text: string) => JSON.stringify(text).slice(1, -1)
    expect(sent).toContain('<earlier-conversation>')
    expect(sent).toContain(quoted(`User: ${scripted({ reply: words(30, 'cc'), delayMs: 30 })}`))
    expect(sent).toContain(quoted(`You:\n${words(30, 'cc')}\n`))
  })

  it('calls nothing outside the gateway: from its start through its turns, a restart and its end, its sandbox’s processes call nobody but the Worker', async () => {
    const { recorded, sockets: out, calledGateway } = await endAndStop(id, sockets)
    // It was watched doing what it does: its model calls reached the gateway.
    expect(calledGateway).toBe(true)
    expect(recorded).toEqual([])
    expect(out).toEqual([])
  })
})

describe('a Claude Code run', () => {
  it('works unattended (its agent’s asks allowed, as opencode’s runs are) and opens a pull request with its changes', async () => {
    const steps = [{ tool: { name: 'Bash', args: { command: 'echo from-a-run > RUN.md', description: 'write' } } }, { text: 'Wrote RUN.md.' }]
    const started = await api('/v1/runs', { body: { prompt: scripted({ steps }), runtime: 'claude-code', repo: { url: gh.cloneUrl('acme', 'agents') }, output: { pullRequest: {} } } })
    expect(started.status).toBe(202)
    const run = await finished(started.body.id as string)
    expect(run.status).toBe('succeeded')
    expect(run.result.text).toBe('Wrote RUN.md.')
    expect(run.result.diff).toContain('+from-a-run')
    expect((await api(`/v1/sessions/${run.sessionId}`)).body.runtime).toBe('claude-code')
    await expectPullRequest(run, 'RUN.md', 'from-a-run\n')
  })
})

describe('a Codex session', () => {
  let id: string
  let stream: EventStream
  let sockets: ReturnType<typeof watchSockets>
  beforeAll(async () => {
    id = await createSession(configured('codex'))
    sockets = watchSockets(id)
    stream = new EventStream(id)
    await stream.until(isIdleEvent, 120_000)
  })
  afterAll(async () => {
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('streams a reply through the gateway in the Responses dialect, with the session’s instructions, skill and MCP server, and no provider key in the sandbox', async () => {
    const text = words(20, 'cx')
    const messageId = await sendMessage(id, scripted({ reply: text }))
    const done = await stream.until(isReplyTo(messageId))
    expect(done.data.text).toBe(text)
    expect(deltasOf(stream.events, done.data.messageId as string)).toBe(text)
    await expectConfigured('codex')
    const calls = (await (await fetch(`${modelBase()}/_calls`)).json()) as { url: string }[]
    expect(calls.some((c) => c.url.endsWith('/responses'))).toBe(true)

    const [sandbox] = await sandboxesOf(id)
    const agent = processesWith(1, sandbox!.opencodePid!)[0]!
    const modelKey = own().stack.modelKey!
    for (const pid of [sandbox!.opencodePid!, agent, ...processesWith(1, agent)]) {
      expect(Object.values(environOf(pid)).some((v) => v.includes(modelKey))).toBe(false)
    }
    // Codex's configuration names the gateway as its provider, and holds no key.
    const config = readFileSync(`${sandbox!.workdir}/../home/.codex/config.toml`, 'utf8')
    expect(config).toMatch(/base_url = ".*\/v1\/gateway\/openai"/)
    expect(config).not.toContain(modelKey)
  })

  it('asks before running a command, and runs it once answered through the permission route', async () => {
    const command = 'echo ran-by-codex > codex-proof.txt && cat codex-proof.txt'
    const steps = [{ tool: { name: 'shell_command', args: { command } } }, { text: 'codex wrote: {{tool_result}}' }]
    const messageId = await sendMessage(id, scripted({ steps }))
    const asked = await stream.until((e) => e.event === 'permission.requested' && !stream.events.some((r) => r.event === 'permission.resolved' && r.data.permissionId === e.data.permissionId))
    expect((await api(`/v1/sessions/${id}`)).body.pending.permissions).toHaveLength(1)
    const answered = await api(`/v1/sessions/${id}/permissions/${asked.data.permissionId}`, { body: { reply: 'once' } })
    expect(answered.status).toBe(200)
    const reply = await stream.until(isReplyTo(messageId))
    expect(reply.data.text).toContain('codex wrote')
    expect(stream.events.some((e) => e.event === 'tool.updated' && e.data.state === 'completed')).toBe(true)
    const file = await api(`/v1/sessions/${id}/files?path=codex-proof.txt`)
    expect(file.body.content).toContain('ran-by-codex')
  })

  it('hands a message’s attachment to Codex as a link to the file in the sandbox', async () => {
    const mark = `codex-attached-${Date.now()}`
    const content = `codex notes for ${mark}\n`
    const attachments = [{ filename: 'codex-notes.txt', mime: 'text/plain', data: Buffer.from(content).toString('base64') }]
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'codex saw the notes' }, mark), attachments } })
    expect(res.status).toBe(200)
    expect(res.body.reply.text).toBe('codex saw the notes')
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    const sent = JSON.stringify(requests.findLast((r) => JSON.stringify(r).includes(mark)))
    // Codex shows the model the link beside the message's text; the file there holds the bytes sent.
    const link = /\[@codex-notes\.txt\]\(file:\/\/([^)"]*codex-notes\.txt)\)/.exec(sent)!
    expect(readFileSync(decodeURIComponent(link[1]!), 'utf8')).toBe(content)
  })

  it('stops a turn on abort, and takes the next message', async () => {
    await abortMidReply(id, stream, 'codex after the abort')
  })

  it('replays exactly what came after Last-Event-ID', async () => {
    await expectReplayAfter(id, stream)
  })

  it('restarts a killed agent and loads its conversation again (ACP session/load)', async () => {
    const [sandbox] = await sandboxesOf(id)
    // The agent is codex-acp's native program (its npm command is a Node launcher waiting on it).
    const agent = treeOf(sandbox!.opencodePid!).find((p) => linkOf(`/proc/${p}/exe`).endsWith('/codex-acp'))!
    process.kill(agent, 'SIGKILL')
    await waitFor('the agent to be restarted', async () => (stream.events.some((e) => e.event === 'sandbox.status' && e.data.step === 'agent_restarted') ? true : undefined), 120_000)
    expect(processAlive(agent)).toBe(false)
    const mark = `codex-after-restart-${Date.now()}`
    const res = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'codex back again' }, mark) } })
    expect(res.body.reply.text).toBe('codex back again')
    const requests = (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]
    // The model was sent the conversation from before the kill along with the new message: Codex loaded it from its own record.
    const last = JSON.stringify(requests.findLast((r) => JSON.stringify(r).includes(mark)))
    expect(last).toContain('codex after the abort')
  })

  it('keeps its log and queue across a Worker restart mid-turn', async () => {
    stream = await restartMidTurn(id, stream)
  })

  it('calls nothing outside the gateway: from its start through its turns, a restart and its end, its sandbox’s processes call nobody but the Worker', async () => {
    const { recorded, sockets: out, calledGateway } = await endAndStop(id, sockets)
    expect(calledGateway).toBe(true)
    expect(recorded).toEqual([])
    expect(out).toEqual([])
  })
})

describe('a Codex run', () => {
  it('opens a pull request with its changes', async () => {
    const steps = [{ tool: { name: 'shell_command', args: { command: 'echo from-codex > CODEX.md' } } }, { text: 'Wrote CODEX.md.' }]
    const started = await api('/v1/runs', { body: { prompt: scripted({ steps }), runtime: 'codex', repo: { url: gh.cloneUrl('acme', 'agents') }, output: { pullRequest: {} } } })
    expect(started.status).toBe(202)
    const run = await finished(started.body.id as string)
    expect(run.status).toBe('succeeded')
    expect(run.result.text).toBe('Wrote CODEX.md.')
    await expectPullRequest(run, 'CODEX.md', 'from-codex\n')
  })
})
