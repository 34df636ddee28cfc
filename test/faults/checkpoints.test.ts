import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { api, baseUrl, createSession, EventStream, fixtureRepo, isReplyTo, sandboxesOf, sandboxHost, scripted, sendMessage, TEST_KEYS, waitFor, waitForStatus, type Json } from '../helpers'
import { FAULTS_OPTIONS, FAULTS_SETTINGS } from './settings'

/**
 * Checkpoints (docs/checkpoints.md): after turns that edit files, the sandbox is killed, and
 * separately only the agent's data folder; the next turn sees the edits, and the model is sent
 * the earlier conversation. One session goes through all of it, on a stack of the file's own
 * whose R2 bucket is read raw from wrangler dev's local state.
 */

/** A checkpoint may hold 64 KiB; a paused session hibernates 4 s after its pause, 20 s after its last activity. */
const MAX_BYTES = 64 * 1024
const own = ownStackForFile(
  'checkpoints',
  { ...FAULTS_SETTINGS, CHECKPOINT_MAX_BYTES: String(MAX_BYTES), SESSION_IDLE_SECONDS: '20', PAUSED_RETENTION_SECONDS: '4' },
  FAULTS_OPTIONS,
)

const repo = fixtureRepo('checkpoints', { 'README.md': '# fixture\n', 'old.txt': 'to be deleted\n', 'run.sh': '#!/bin/sh\necho run\n' })
afterAll(() => rmSync(repo, { recursive: true, force: true }))

/** Words the model must be sent again after the sandbox or the agent's data is gone: each turn's own. */
const WORD = ['PELICAN', 'WALRUS', 'OCELOT', 'MARMOT', 'BISON', 'LYNX']
const WRITTEN = 'written in turn one, kept through the loss'

let id: string

const bash = (command: string) => ({ tool: { name: 'bash', args: { command, description: 'work on the files' } } })

/** Sends a scripted message and waits for its reply on `stream`; answers the message's id and the tool output the agent saw. */
async function turn(stream: EventStream, word: string, steps: Json[]): Promise<{ messageId: string; output: string }> {
  const messageId = await sendMessage(id, scripted({ steps }, `${word}: remember this word`))
  const reply = await stream.until(isReplyTo(messageId))
  expect(reply.data.error).toBeUndefined()
  const sent = stream.events.findIndex((e) => e.event === 'message.created' && e.data.messageId === messageId)
  const output = stream.events
    .slice(sent)
    .filter((e) => e.event === 'tool.updated' && e.data.state === 'completed')
    .map((e) => String(e.data.output))
    .join('\n')
  return { messageId, output }
}

const checkpoints = async () => (await api(`/v1/sessions/${id}/checkpoints`)).body as { enabled: boolean; checkpoints: Json[] }

/** The checkpoint saved after the turn of `messageId`, once there is one. */
const checkpointAfter = (messageId: string) =>
  waitFor(`a checkpoint after ${messageId}`, async () => (await checkpoints()).checkpoints.find((c) => c.messageId === messageId))

/**
 * A fork from checkpoint 1: its workspace as turn one left it (none of `absent`), the conversation
 * up to that turn (its user message; the model, asked with `mark`, sees turn one and no later one),
 * and its own checkpoints from there, starting with what it was given.
 */
async function expectForkOfTurnOne(fork: string, firstMessageId: string, absent: string[], mark: string) {
  const file = (path: string) => api(`/v1/sessions/${fork}/files?path=${encodeURIComponent(path)}`)
  expect((await file('notes.txt')).body.content).toBe(`${WRITTEN}\n`)
  for (const path of absent) expect((await file(path)).status).toBe(404)
  const users = ((await api(`/v1/sessions/${fork}/messages`)).body as unknown as Json[]).filter((m) => m.role === 'user')
  expect(users.map((m) => m.id)).toEqual([firstMessageId])
  expect((await api(`/v1/sessions/${fork}/checkpoints`)).body.checkpoints).toMatchObject([{ checkpoint: 1, messageId: null, filesChanged: 5 }])
  const reply = await api(`/v1/sessions/${fork}/messages?wait=true&timeout=120`, { body: { text: scripted({ reply: 'forked' }, `${mark}: remember`) } })
  expect(reply.status).toBe(200)
  const saw = modelSaw(mark)
  expect(saw).toContain(`${WORD[0]}: remember`)
  expect(saw).not.toContain(`${WORD[1]}: remember`)
}

/** What the scripted model was sent for the turn whose message holds `word`: every message's text, in order. */
function modelSaw(word: string): string {
  const request = own().stack.model!.requests.findLast((r) => JSON.stringify(r.messages?.at(-1) ?? '').includes(`${word}: remember`))
  expect(request, `a model request for the turn of ${word}`).toBeDefined()
  return JSON.stringify(request!.messages)
}

/** Every file of wrangler dev's local R2 state (its objects and their index), as bytes. */
function r2Files(): Buffer[] {
  return readdirSync(join(own().dir, 'state'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /(^|\/)r2(\/|$)/.test(e.parentPath))
    .map((e) => readFileSync(join(e.parentPath, e.name)))
}

/** The stored objects' bytes in wrangler dev's local R2 state, as files. */
function r2Blobs(): string[] {
  return readdirSync(join(own().dir, 'state'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /(^|\/)r2\/.*\/blobs$/.test(e.parentPath))
    .map((e) => join(e.parentPath, e.name))
}

describe('checkpoints', () => {
  it('bring a replaced sandbox the files written before, and its agent the conversation', async () => {
    id = await createSession({ repo: { url: repo, ref: 'main' }, permissions: { bash: 'allow', edit: 'allow' } })
    await waitForStatus(id, 'idle')
    const stream = new EventStream(id)
    const first = await turn(stream, WORD[0]!, [
      { tool: { name: 'write', args: { filePath: 'notes.txt', content: `${WRITTEN}\n` } } },
      bash("rm old.txt && chmod +x run.sh && printf 'bin\\000\\001\\377' > blob.bin && echo 'changed' >> README.md"),
      { text: 'first done' },
    ])
    expect(await checkpointAfter(first.messageId)).toMatchObject({ checkpoint: 1, filesChanged: 5 })

    const [sandbox] = await sandboxesOf(id)
    await sandboxHost(`/sandboxes/${sandbox!.sandboxId}`, 'DELETE')
    await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'lost')
    const second = await turn(stream, WORD[1]!, [
      bash('cat notes.txt README.md; ls; test -x run.sh && echo run.sh is executable; od -An -tx1 blob.bin'),
      { text: 'second done' },
    ])
    const restored = stream.events.find((e) => e.event === 'sandbox.status' && e.data.step === 'restored')
    expect(restored?.data).toMatchObject({ state: 'ready', detail: 'checkpoint 1', memory: 'imported' })
    expect(stream.events.some((e) => e.event === 'sandbox.status' && e.data.step === 'restoring')).toBe(true)
    expect(stream.events.filter((e) => e.event === 'error')).toEqual([])
    const [replacement] = await sandboxesOf(id)
    expect(replacement!.sandboxId).not.toBe(sandbox!.sandboxId)
    // The turn's tool saw the edits of turn one: the new file, the changed and deleted ones, the mode, the binary.
    const seen = second.output
    expect(seen).toContain(WRITTEN)
    expect(seen).toContain('changed')
    expect(seen).not.toContain('old.txt')
    expect(seen).toContain('run.sh is executable')
    expect(seen).toMatch(/62 69 6e 00 01 ff/)
    // opencode in the new sandbox continued the same conversation: turn one went to the model again.
    expect(modelSaw(WORD[1]!)).toContain(`${WORD[0]}: remember`)
    expect(modelSaw(WORD[1]!)).toContain('first done')
    await checkpointAfter(second.messageId)
    await stream.close()
  })

  it("bring an agent whose data folder was lost the conversation back, its sandbox and workspace kept", async () => {
    const stream = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    const [sandbox] = await sandboxesOf(id)
    const data = join(dirname(sandbox!.workdir), 'home', '.local', 'share', 'opencode')
    expect(statSync(data).isDirectory()).toBe(true)
    rmSync(data, { recursive: true, force: true })
    process.kill(sandbox!.opencodePid!, 'SIGKILL')
    await stream.until((e) => e.event === 'sandbox.status' && e.data.step === 'agent_restarted')
    const third = await turn(stream, WORD[2]!, [bash('cat notes.txt'), { text: 'third done' }])
    expect(third.output).toContain(WRITTEN)
    const [same] = await sandboxesOf(id)
    expect(same!.sandboxId).toBe(sandbox!.sandboxId)
    const saw = modelSaw(WORD[2]!)
    expect(saw).toContain(`${WORD[0]}: remember`)
    expect(saw).toContain(`${WORD[1]}: remember`)
    expect(stream.events.filter((e) => e.event === 'error')).toEqual([])
    await checkpointAfter(third.messageId)
    await stream.close()
  })

  it('list each checkpoint, whose patch applies cleanly to the cloned commit', async () => {
    const { enabled, checkpoints: list } = await checkpoints()
    expect(enabled).toBe(true)
    expect(list.map((c) => c.checkpoint)).toEqual(list.map((_, i) => i + 1))
    for (const c of list) expect(c).toEqual({ checkpoint: c.checkpoint, messageId: expect.any(String), createdAt: expect.any(String), sizeBytes: expect.any(Number), filesChanged: 5 })

    const res = await fetch(`${baseUrl()}/v1/sessions/${id}/checkpoints/${list.at(-1)!.checkpoint}/patch`, { headers: { authorization: `Bearer ${TEST_KEYS[0]}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/x-diff')
    const patch = await res.text()
    expect(patch).toContain('diff --git a/notes.txt b/notes.txt')
    expect(patch).toContain('deleted file mode 100644')
    expect(patch).toContain('GIT binary patch')
    const clone = mkdtempSync(join(tmpdir(), 'osw-checkpoint-clone-'))
    try {
      execFileSync('git', ['clone', '--quiet', repo, clone])
      writeFileSync(join(clone, '..', `${clone.split('/').at(-1)}.patch`), patch)
      execFileSync('git', ['apply', '--check', join(clone, '..', `${clone.split('/').at(-1)}.patch`)], { cwd: clone })
      execFileSync('git', ['apply', join(clone, '..', `${clone.split('/').at(-1)}.patch`)], { cwd: clone })
      expect(readFileSync(join(clone, 'notes.txt'), 'utf8')).toBe(`${WRITTEN}\n`)
      expect(existsSync(join(clone, 'old.txt'))).toBe(false)
    } finally {
      rmSync(clone, { recursive: true, force: true })
      rmSync(`${clone}.patch`, { force: true })
    }

    expect((await api(`/v1/sessions/${id}/checkpoints/99/patch`)).status).toBe(404)
    expect((await api(`/v1/sessions/${id}/checkpoints`, { key: TEST_KEYS[1] })).status).toBe(404)
    expect((await api(`/v1/sessions/${id}/checkpoints/1/patch`, { key: TEST_KEYS[1] })).status).toBe(404)
  })

  it('are kept in R2 sealed: nothing of the files or the conversation reads without SECRETS_KEY', async () => {
    const files = r2Files()
    const stored = (await checkpoints()).checkpoints.reduce((sum, c) => sum + (c.sizeBytes as number), 0)
    expect(files.reduce((sum, f) => sum + f.length, 0)).toBeGreaterThan(stored)
    const all = Buffer.concat(files)
    for (const plain of [WRITTEN, ...WORD, 'first done', 'diff --git']) expect(all.includes(plain)).toBe(false)
    // Compressed before sealing: no gzip stream lies in the bucket in the open either.
    for (const f of files) expect(f.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false)
  })

  it('keep the one before when a new one would be over CHECKPOINT_MAX_BYTES, and say so', async () => {
    const stream = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    const before = (await checkpoints()).checkpoints.at(-1)!
    // Random bytes do not compress: the archive is over the limit.
    await turn(stream, WORD[3]!, [bash(`head -c ${MAX_BYTES * 2} /dev/urandom > noise.bin`), { text: 'noisy' }])
    const error = await stream.until((e) => e.event === 'error' && e.data.code === 'checkpoint_too_large')
    expect(error.data.message).toContain('CHECKPOINT_MAX_BYTES')
    expect((await checkpoints()).checkpoints.at(-1)).toEqual(before)
    const quiet = await turn(stream, WORD[4]!, [bash('rm noise.bin && echo small > after-limit.txt'), { text: 'quiet again' }])
    expect(await checkpointAfter(quiet.messageId)).toMatchObject({ checkpoint: before.checkpoint + 1, filesChanged: 6 })
    await stream.close()
  })

  it("say on the stream when a save fails, keep the one before, and try again at the next turn's end", async () => {
    const stream = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    const before = (await checkpoints()).checkpoints.at(-1)!
    // The agent's tool leaves the workspace's git unable to read its index: the save cannot list the changes.
    const broken = await turn(stream, 'BROKEN', [bash('mv .git/index .git/index.kept && echo broken > .git/index'), { text: 'git broken' }])
    const error = await stream.until((e) => e.event === 'error' && e.data.code === 'checkpoint_save_failed')
    expect(error.data.message).toContain('the one before is kept')
    expect((await checkpoints()).checkpoints.at(-1)).toEqual(before)
    expect((await checkpoints()).checkpoints.some((c) => c.messageId === broken.messageId)).toBe(false)
    const mended = await turn(stream, 'MENDED', [bash('mv .git/index.kept .git/index'), { text: 'git mended' }])
    expect(await checkpointAfter(mended.messageId)).toMatchObject({ checkpoint: (before.checkpoint as number) + 1, filesChanged: before.filesChanged })
    expect(stream.events.filter((e) => e.event === 'error' && e.data.code === 'checkpoint_save_failed')).toHaveLength(1)
    await stream.close()
  })

  it('outlive a paused sandbox past its retention: the session hibernates, and the next message restores it', async () => {
    const stream = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    const [sandbox] = await sandboxesOf(id)
    // Written after the last turn's checkpoint, outside any turn: only the checkpoint before the pause has it.
    writeFileSync(join(sandbox!.workdir, 'before-the-pause.txt'), 'kept by the pause\n')
    await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'paused')
    const hibernated = await stream.until((e) => e.event === 'sandbox.status' && e.data.step === 'hibernated')
    expect(hibernated.data.state).toBe('stopped')
    expect((await checkpoints()).checkpoints.at(-1)).toMatchObject({ messageId: null, filesChanged: 7 })
    expect(await sandboxesOf(id)).toEqual([])
    expect((await api(`/v1/sessions/${id}`)).body.status).toBe('idle')

    const back = await turn(stream, WORD[5]!, [bash('cat before-the-pause.txt notes.txt after-limit.txt'), { text: 'back' }])
    expect(stream.events.find((e) => e.event === 'sandbox.status' && e.data.step === 'restored')?.data.detail).toMatch(/^checkpoint \d+$/)
    expect(back.output).toContain('kept by the pause')
    expect(back.output).toContain(WRITTEN)
    expect(back.output).toContain('small')
    const saw = modelSaw(WORD[5]!)
    for (const word of WORD.slice(0, 5)) expect(saw).toContain(`${word}: remember`)
    await stream.close()
  })

  it('roll the workspace back on POST /restore, refused while a turn runs', async () => {
    const file = async (path: string) => (await api(`/v1/sessions/${id}/files?path=${encodeURIComponent(path)}`)).status
    const stream = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    const slow = await sendMessage(id, scripted({ reply: 'still talking', delayMs: 300, chunks: 10 }))
    await stream.until((e) => e.event === 'message.delta')
    const busy = await api(`/v1/sessions/${id}/restore`, { body: { checkpoint: 1 } })
    expect(busy.status).toBe(409)
    expect(busy.body.error.code).toBe('conflict')
    await stream.until(isReplyTo(slow))
    await checkpointAfter(slow)
    expect((await api(`/v1/sessions/${id}/restore`, { body: { checkpoint: 999 } })).status).toBe(404)
    expect((await api(`/v1/sessions/${id}/restore`, { body: { checkpoint: 1 }, key: TEST_KEYS[1] })).status).toBe(404)
    expect((await api(`/v1/sessions/${id}/restore`, { body: { checkpoint: 'one' } })).status).toBe(400)

    const newest = (await checkpoints()).checkpoints.at(-1)!.checkpoint as number
    expect((await checkpoints()).checkpoints.at(-1)!.messageId).toBe(slow)
    const res = await api(`/v1/sessions/${id}/restore`, { body: { checkpoint: 1 } })
    expect(res.status).toBe(200)
    expect(res.body.status).toBe('idle')
    expect((await api(`/v1/sessions/${id}/files?path=notes.txt`)).body.content).toBe(`${WRITTEN}\n`)
    expect(await file('after-limit.txt')).toBe(404)
    expect(await file('before-the-pause.txt')).toBe(404)
    expect(await file('old.txt')).toBe(404)
    // What the workspace holds now is the checkpoint a new sandbox would get.
    expect((await checkpoints()).checkpoints.at(-1)).toMatchObject({ checkpoint: newest + 1, messageId: null, filesChanged: 5 })
    await stream.close()
  })

  it('start a fork from any checkpoint: its workspace and the conversation up to its turn', async () => {
    const [sandbox] = await sandboxesOf(id)
    writeFileSync(join(sandbox!.workdir, 'only-in-the-original.txt'), 'not in checkpoint 1\n')
    const first = (await checkpoints()).checkpoints[0]!
    expect((await api(`/v1/sessions/${id}/fork`, { body: { checkpoint: 999 } })).status).toBe(404)
    const foreign = await api(`/v1/sessions/${id}/fork`, { body: { checkpoint: 1 }, key: TEST_KEYS[1] })
    expect(foreign.status).toBe(404)
    expect(foreign.body.error.code).toBe('not_found')
    expect((await api(`/v1/sessions/${id}/fork`, { body: { checkpoint: 1, messageId: first.messageId } })).status).toBe(400)

    const res = await api(`/v1/sessions/${id}/fork`, { body: { checkpoint: 1 } })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const fork = res.body.id as string
    try {
      await expectForkOfTurnOne(fork, first.messageId as string, ['only-in-the-original.txt', 'old.txt'], 'HERON')
    } finally {
      await api(`/v1/sessions/${fork}`, { method: 'DELETE' })
    }
  })

  it('start a fork of a hibernated session from a checkpoint alone: a new sandbox with its files, and the conversation up to its turn', async () => {
    // Left idle, the session hibernates (paused, then let go): there is no sandbox to copy. Its log says when it has:
    // its last sandbox.status, once the replay has passed where the log stood (an earlier test hibernated it too).
    const logged = (await api(`/v1/sessions/${id}`)).body.lastEventId as number
    const history = new EventStream(id, { after: 0 })
    const hibernatedNow = () => (history.events.at(-1)?.id ?? 0) >= logged && history.events.findLast((e) => e.event === 'sandbox.status')?.data.step === 'hibernated'
    await history.until(hibernatedNow, 120_000)
    await history.close()
    const first = (await checkpoints()).checkpoints[0]!
    const res = await api(`/v1/sessions/${id}/fork`, { body: { checkpoint: 1 } })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const fork = res.body.id as string
    const stream = new EventStream(fork)
    try {
      // Its own sandbox, a clone of the commit with checkpoint 1's changes, and opencode given the record of the conversation.
      const ready = await stream.until((e) => e.event === 'sandbox.status' && e.data.state === 'ready', 120_000)
      expect(ready.data).toMatchObject({ step: 'restored', detail: 'checkpoint 1', memory: 'imported' })
      await expectForkOfTurnOne(fork, first.messageId as string, ['old.txt', 'after-limit.txt'], 'KESTREL')
      // The original stays as it was: hibernated.
      expect(await sandboxesOf(id)).toEqual([])
    } finally {
      await stream.close()
      await api(`/v1/sessions/${fork}`, { method: 'DELETE' })
    }
  })

  it('that do not open answer checkpoint_unreadable, and a new sandbox then starts clean, saying so', async () => {
    // Left idle, the session hibernates (paused, then let go): its next message needs the checkpoint.
    await waitFor('the session to hibernate', async () => (await sandboxesOf(id)).length === 0)
    const newest = (await checkpoints()).checkpoints.at(-1)!.checkpoint as number
    // Damaged where they are kept (as a rotated SECRETS_KEY would leave them): every stored byte flipped.
    for (const blob of r2Blobs()) {
      // The deleted fork's objects may be leaving the bucket meanwhile.
      const bytes = existsSync(blob) ? readFileSync(blob) : undefined
      if (bytes) writeFileSync(blob, bytes.map((b) => b ^ 0xff))
    }
    const patch = await api(`/v1/sessions/${id}/checkpoints/${newest}/patch`)
    expect(patch.status).toBe(422)
    expect(patch.body.error).toMatchObject({ code: 'checkpoint_unreadable', message: expect.stringContaining('SECRETS_KEY') })
    const restore = await api(`/v1/sessions/${id}/restore`, { body: { checkpoint: newest } })
    expect(restore.status).toBe(422)
    expect(restore.body.error.code).toBe('checkpoint_unreadable')
    expect((await api(`/v1/sessions/${id}/fork`, { body: { checkpoint: newest } })).status).toBe(422)

    const stream = new EventStream(id, { after: (await api(`/v1/sessions/${id}`)).body.lastEventId as number })
    const clean = await turn(stream, 'EGRET', [bash('ls'), { text: 'clean start' }])
    const unreadable = stream.events.filter((e) => e.event === 'error' && e.data.code === 'checkpoint_unreadable')
    expect(unreadable.length).toBeGreaterThan(0)
    expect(stream.events.some((e) => e.event === 'sandbox.status' && e.data.step === 'restored')).toBe(false)
    expect(stream.events.some((e) => e.event === 'sandbox.status' && e.data.state === 'ready' && e.data.step === 'started')).toBe(true)
    expect(clean.output).not.toContain('notes.txt')
    expect(modelSaw('EGRET')).not.toContain(`${WORD[0]}: remember`)
    await stream.close()
  })

  it('are deleted when the session ends', async () => {
    const before = r2Files().length
    expect((await api(`/v1/sessions/${id}`, { method: 'DELETE' })).status).toBe(200)
    expect(await checkpoints()).toEqual({ enabled: true, checkpoints: [] })
    await waitFor('the checkpoints to leave the bucket', () => r2Files().length < before)
  })
})
