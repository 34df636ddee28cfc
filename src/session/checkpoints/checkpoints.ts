import { event, runsOpencode } from '../../contracts'
import { fail, ok, type Outcome } from '../../lib/errors'
import { errorMessage, log } from '../../lib/log'
import { openBytes, sealBytes } from '../../lib/sealed'
import { AGENT_FILE, checkpointDir, importCommand, parseSaved, PATCH_FILE, restoreCommand, rollBackCommand, saveCommand } from '../../sandbox/checkpoint-commands'
import { fileBytes } from '../../sandbox/file-content'
import type { SandboxProvider } from '../../sandbox/provider'
import type { SandboxRecord } from '../../sandbox/record'
import type { AgentConnection } from '../agent/connection'
import { checkpointVerdict, forkMessageOf, objectName, prunable, saveFailedMessage, saveFailureIsNews, sessionPrefix, tooLargeMessage, unreadableMessage, type CheckpointPart, type ForkPoint } from './rules'
import { CheckpointStore, type CheckpointRow } from './store'
import type { SessionSignals } from '../ports'
import type { SessionStore } from '../store/session-store'

/** How long the sandbox's side of a restore may take (a large repository's `git apply`, opencode's import). */
const COMMAND_TIMEOUT_MS = 120_000
/** How long the sandbox's side of a save may take: the next turn waits for it. A copied index makes `git add` hash only what changed. */
const SAVE_TIMEOUT_MS = 60_000

export type CheckpointParts = {
  /** the bucket, when checkpoints are on (a bucket bound and SECRETS_KEY set) */
  bucket: R2Bucket | undefined
  secretsKey: string | undefined
  maxBytes: number
  sql: SqlStorage
  store: SessionStore
  provider: SandboxProvider
  connection: AgentConnection
  signals: SessionSignals
  /** a save held the turns (see `saving`): they may go on once it is done */
  turns: { pump(): void }
}

/** What a new sandbox got back from the last checkpoint. */
export type Restored = { checkpoint: number; agentSessionId?: string }

/** A part that does not open (SECRETS_KEY rotated since it was sealed, or its stored bytes damaged) or is missing from the bucket. */
class CheckpointUnreadableError extends Error {
  constructor(n: number) {
    super(unreadableMessage(n))
    this.name = 'CheckpointUnreadableError'
  }
}

/** A save or restore that failed for a reason of our own telling (the sandbox's command, the bucket): its message is safe to show. */
class CheckpointStepError extends Error {}

/**
 * The session's checkpoints: after each turn and before a pause, the workspace's changes against
 * the commit it started from and the agent's own record of the conversation (opencode's export)
 * are sealed under SECRETS_KEY into R2; a new sandbox gets the last one back, and an agent that
 * lost its record (its data gone) gets the record back. One save at a time, while turns wait.
 */
export class Checkpoints {
  private readonly rows: CheckpointStore
  private chain: Promise<void> = Promise.resolve()
  private pending = 0

  constructor(private readonly p: CheckpointParts) {
    this.rows = new CheckpointStore(p.sql)
  }

  get enabled(): boolean {
    return this.p.bucket !== undefined
  }

  /** A save is under way: the next turn waits for it, so that a checkpoint is of one moment between turns. */
  get saving(): boolean {
    return this.pending > 0
  }

  /** Saves a checkpoint after the turn of `messageId` (null: before a pause), after any save under way; never throws. */
  save(messageId: string | null): Promise<void> {
    if (!this.enabled) return Promise.resolve()
    const sandboxId = this.p.store.sandbox()?.sandboxId
    return this.serially(() => this.take(messageId)).catch((err: unknown) => this.saveFailed(sandboxId, err))
  }

  /**
   * Rolls the running sandbox's workspace back to checkpoint `n` (`repository`: the session's
   * workspace is a clone, whose commit the checkpoint names); what it holds then is saved as the
   * newest checkpoint, the one a new sandbox would get.
   */
  async rollBack(n: number, repository: boolean): Promise<Outcome<null>> {
    const row = this.enabled ? this.rows.get(n) : undefined
    if (!row) return fail('not_found', `no checkpoint ${n} in this session`)
    // Whether it opens is said first: it would not open on any sandbox either.
    return readable(async () => {
      const patch = await this.part(n, 'workspace')
      const record = this.p.store.sandbox()
      if (!record || record.paused) return fail('sandbox_unavailable', 'the session has no running sandbox')
      return this.serially(() => this.rollBackTo(record, n, patch, repository ? row.base_commit : undefined))
    })
  }

  /**
   * Checkpoint `n` of the session this one was forked from: its changes, opened here, for the
   * fork to put on its copy, and the user message of the turn it followed (or, for one saved
   * outside a turn, of the last checkpoint before it that followed one): the fork keeps the
   * conversation up to that turn. `alone`: there is no sandbox to copy, and the fork gets all the
   * checkpoint holds (see adoptFork).
   */
  async forkPoint(n: number, alone: boolean): Promise<Outcome<ForkPoint>> {
    const row = this.enabled ? this.rows.get(n) : undefined
    if (!row) return fail('not_found', `no checkpoint ${n} in this session`)
    const messageId = forkMessageOf(this.rows.list(), n)
    return readable(async () => {
      const point: ForkPoint = { checkpoint: n, baseCommit: row.base_commit, patch: await this.part(n, 'workspace'), ...(messageId && { messageId }) }
      if (!alone) return ok(point)
      const agent = row.agent_bytes > 0 ? await this.part(n, 'agent') : new Uint8Array()
      return ok({ ...point, alone: { agent, agentSessionId: row.agent_session_id, digest: row.digest, filesChanged: row.files_changed } })
    })
  }

  /**
   * A fork of a session that had no sandbox to copy: the checkpoint it was given becomes this
   * session's first, sealed under its own name, for its first sandbox to restore (a clone of the
   * commit with the changes applied, opencode importing the record of the conversation).
   */
  async adoptFork(point: ForkPoint) {
    const { store } = this.p
    if (!this.enabled || !point.alone) throw new Error('the checkpoint cannot be kept here: checkpoints are off, or it came without the agent record')
    const { agent, agentSessionId, digest, filesChanged } = point.alone
    const sessionId = store.row.id
    await Promise.all([this.putPart(sessionId, 1, 'workspace', point.patch), this.putPart(sessionId, 1, 'agent', agent)])
    this.rows.add({
      n: 1,
      message_id: null,
      created_at: new Date().toISOString(),
      patch_bytes: point.patch.length,
      agent_bytes: agent.length,
      files_changed: filesChanged,
      base_commit: point.baseCommit,
      agent_session_id: agentSessionId,
      digest,
    })
  }

  /**
   * A fork's copied sandbox becomes what the original's checkpoint held (see forkPoint), and that
   * is this session's first checkpoint. Throws when it cannot: the fork fails.
   */
  async takeFork(point: ForkPoint, repository: boolean) {
    const record = this.p.store.sandbox()
    if (!record) throw new Error('the copy has no sandbox')
    const done = await this.serially(() => this.rollBackTo(record, point.checkpoint, new Uint8Array(point.patch), repository ? point.baseCommit : undefined))
    if (!done.ok) throw new Error(done.error.message)
  }

  /** The running workspace back to its start with `patch` applied; saved then as the newest checkpoint. Run serially. */
  private async rollBackTo(record: SandboxRecord, n: number, patch: Uint8Array<ArrayBuffer>, base: string | undefined): Promise<Outcome<null>> {
    await this.put(record, PATCH_FILE, patch)
    const r = await this.p.provider.exec(record.sandboxId, rollBackCommand(checkpointDir(record.home), base), { cwd: record.workdir, timeoutMs: COMMAND_TIMEOUT_MS })
    if (r.exitCode !== 0) return fail('conflict', `checkpoint ${n} could not be put back on the workspace (exit ${r.exitCode})`)
    await this.take(null)
    return ok(null)
  }

  /** `work` after whatever runs already; the turns wait until nothing does. */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    this.pending++
    const run = this.chain.then(work).finally(() => {
      if (--this.pending === 0) this.p.turns.pump()
    })
    this.chain = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  /** A checkpoint holds the session's work, for a new sandbox to get back. */
  get held(): boolean {
    return this.enabled && this.rows.latest() !== undefined
  }

  list() {
    return { enabled: this.enabled, checkpoints: this.rows.list() }
  }

  /** Checkpoint `n`'s changes, gzipped, as the sandbox wrote them. */
  async patch(n: number): Promise<Outcome<Uint8Array>> {
    if (!this.rows.get(n)) return fail('not_found', `no checkpoint ${n} in this session`)
    return readable(async () => ok(await this.part(n, 'workspace')))
  }

  /**
   * A new sandbox for a session that had one: the last checkpoint's changes go onto its fresh
   * workspace, and its agent gets the conversation back. What cannot be put back is said with an
   * `error` event, and the session goes on with what there is.
   */
  async restore(record: SandboxRecord, repository: boolean): Promise<Restored | undefined> {
    const last = this.enabled ? this.rows.latest() : undefined
    if (!last) return undefined
    this.p.signals.sandboxState('starting', 'restoring', { detail: `checkpoint ${last.n}` })
    let workspace = true
    try {
      await this.put(record, PATCH_FILE, await this.part(last.n, 'workspace'))
      const applied = await this.p.provider.exec(record.sandboxId, restoreCommand(checkpointDir(record.home), repository ? last.base_commit : undefined), {
        cwd: record.workdir,
        timeoutMs: COMMAND_TIMEOUT_MS,
      })
      if (applied.exitCode !== 0) throw new CheckpointStepError(`the workspace's changes did not apply (exit ${applied.exitCode})`)
    } catch (err) {
      workspace = false
      this.restoreFailed(err, `the workspace of checkpoint ${last.n} could not be put back`)
    }
    const agent = last.agent_bytes > 0 && (await this.giveAgent(record, last))
    // Nothing came back: the sandbox is a clean start, and says so (`started`, after the error events).
    if (!workspace && !agent) return undefined
    return { checkpoint: last.n, ...(agent && { agentSessionId: last.agent_session_id }) }
  }

  /**
   * The opencode agent in `record` was started again: when it no longer has the session's
   * conversation (its data was lost with it), it gets the last checkpoint's record of it back
   * (`imported`). Nothing for another runtime's agent, which loads its own or is given a transcript.
   */
  async recallAgent(record: SandboxRecord, agentSessionId: string | null): Promise<'imported' | undefined> {
    if (!agentSessionId || !runsOpencode(this.p.store.spec().runtime)) return undefined
    const known = await this.p.connection.clientFor(record).session.get({ sessionID: agentSessionId })
    if (known.data) return undefined
    const last = this.enabled ? this.rows.latest() : undefined
    const given = last?.agent_session_id === agentSessionId && last.agent_bytes > 0 && (await this.giveAgent(record, last))
    return given ? 'imported' : undefined
  }

  /** The session is over: its checkpoints go, once a save under way has ended. */
  async deleteAll() {
    await this.chain
    const { bucket, store } = this.p
    if (!bucket || !store.exists) return
    try {
      const prefix = sessionPrefix(store.row.id)
      for (let listed = await bucket.list({ prefix }); ; listed = await bucket.list({ prefix, cursor: listed.cursor })) {
        if (listed.objects.length > 0) await bucket.delete(listed.objects.map((o) => o.key))
        if (!listed.truncated) break
      }
      this.rows.clear()
    } catch (err) {
      log('warn', 'checkpoints not deleted', { sessionId: store.row.id, err: errorMessage(err) })
    }
  }

  private async take(messageId: string | null) {
    const { store, provider, bucket } = this.p
    const record = store.sandbox()
    const agentSessionId = store.maybe?.agent_session_id
    if (!bucket || !store.exists || store.isOver() || !record || record.paused || !agentSessionId) return
    const sessionId = store.row.id
    const dir = checkpointDir(record.home)
    const r = await provider.exec(record.sandboxId, saveCommand(dir), { cwd: record.workdir, timeoutMs: SAVE_TIMEOUT_MS })
    const saved = r.exitCode === 0 ? parseSaved(r.stdout) : undefined
    if (!saved) throw new CheckpointStepError(`the workspace's changes could not be listed (git exited with ${r.exitCode})`)
    const last = this.rows.latest()
    // Over the limit already: nothing more is read out of the sandbox.
    if (saved.bytes > this.p.maxBytes) return this.tooLarge(tooLargeMessage(saved.bytes, this.p.maxBytes))
    const patch = fileBytes(await provider.readFile(record.sandboxId, `${dir}/${PATCH_FILE}`))
    // opencode cannot always give its record (it refuses to list a conversation in which a message
    // asked for a structured answer): the workspace is kept all the same, without the agent's memory.
    // Other runtimes' agents keep no record opencode's way: their checkpoints hold the workspace.
    const agentRecord = !runsOpencode(store.spec().runtime) ? undefined : await this.agentRecord(record, agentSessionId).catch((err: unknown) => {
      log('warn', "checkpoint without the agent's record", { sessionId, err: errorMessage(err) })
      return undefined
    })
    const agentJson = agentRecord ? JSON.stringify(agentRecord) : ''
    const agent = agentRecord ? await gzip(agentJson) : new Uint8Array()
    const digest = await sha256(patch, new TextEncoder().encode(agentJson))
    const empty = saved.filesChanged === 0 && (agentRecord?.messages.length ?? 0) === 0
    const verdict = checkpointVerdict({ bytes: patch.length + agent.length, maxBytes: this.p.maxBytes, digest, lastDigest: last?.digest, empty })
    if (verdict.action === 'unchanged' || verdict.action === 'empty') return
    if (verdict.action === 'too_large') return this.tooLarge(verdict.message)
    const n = (last?.n ?? 0) + 1
    await Promise.all([this.putPart(sessionId, n, 'workspace', patch), this.putPart(sessionId, n, 'agent', agent)])
    this.rows.add({
      n,
      message_id: messageId,
      created_at: new Date().toISOString(),
      patch_bytes: patch.length,
      agent_bytes: agent.length,
      files_changed: saved.filesChanged,
      base_commit: saved.base,
      agent_session_id: agentSessionId,
      digest,
    })
    const old = prunable(this.rows.numbers())
    if (old.length > 0) {
      await bucket.delete(old.flatMap((k) => [objectName(sessionId, k, 'workspace'), objectName(sessionId, k, 'agent')]))
      for (const k of old) this.rows.remove(k)
    }
  }

  private tooLarge(message: string) {
    this.p.signals.emit(event('error', { code: 'checkpoint_too_large', message }))
  }

  /**
   * A save that failed is said on the stream, the checkpoint before staying the one a new sandbox
   * gets, and the next turn's end tries again. One whose sandbox went meanwhile is only logged:
   * the sandbox's loss is said by its recovery.
   */
  private async saveFailed(sandboxId: string | undefined, err: unknown) {
    log('warn', 'checkpoint not saved', { sessionId: this.p.store.maybe?.id, err: errorMessage(err) })
    const { store, provider } = this.p
    if (!store.exists || store.isOver() || !sandboxId || store.sandbox()?.sandboxId !== sandboxId) return
    const status = await provider.status(sandboxId).catch(() => undefined)
    if (!saveFailureIsNews(status)) return
    const reason = err instanceof CheckpointStepError ? err.message : undefined
    this.p.signals.emit(event('error', { code: 'checkpoint_save_failed', message: saveFailedMessage(reason) }))
  }

  /** Its message is our own: a provider's error could name the sandbox's address, so it is only logged. */
  private restoreFailed(err: unknown, what: string) {
    log('warn', 'checkpoint not restored', { sessionId: this.p.store.maybe?.id, what, err: errorMessage(err) })
    if (err instanceof CheckpointUnreadableError) {
      this.p.signals.emit(event('error', { code: 'checkpoint_unreadable', message: `${what}: ${err.message}` }))
    } else {
      const reason = err instanceof CheckpointStepError ? `: ${err.message}` : ''
      this.p.signals.emit(event('error', { code: 'checkpoint_restore_failed', message: `${what}${reason}` }))
    }
  }

  /** opencode's export of the session (`opencode export`), through its API: the session and its messages with their parts. */
  private async agentRecord(record: SandboxRecord, sessionID: string) {
    const client = this.p.connection.clientFor(record)
    const [info, messages] = await Promise.all([client.session.get({ sessionID }), client.session.messages({ sessionID })])
    if (!info.data || !messages.data) throw new Error(`opencode did not give its record of the session (${info.response.status}, ${messages.response.status})`)
    return { info: info.data, messages: messages.data.map((m) => ({ info: m.info, parts: m.parts })) }
  }

  /** Gives the agent in `record` the checkpoint's record of the conversation (`opencode import`); answers whether it took it. */
  private async giveAgent(record: SandboxRecord, checkpoint: CheckpointRow): Promise<boolean> {
    try {
      await this.put(record, AGENT_FILE, await this.part(checkpoint.n, 'agent'))
      const r = await this.p.provider.exec(record.sandboxId, importCommand(checkpointDir(record.home)), { cwd: record.workdir, timeoutMs: COMMAND_TIMEOUT_MS })
      if (r.exitCode !== 0) throw new CheckpointStepError(`opencode import exited with ${r.exitCode}`)
      return true
    } catch (err) {
      this.restoreFailed(err, `the agent's record of the conversation in checkpoint ${checkpoint.n} could not be given back`)
      return false
    }
  }

  private async put(record: SandboxRecord, file: string, bytes: Uint8Array<ArrayBuffer>) {
    await this.p.provider.writeStream(record.sandboxId, `${checkpointDir(record.home)}/${file}`, new Blob([bytes]).stream())
  }

  private async putPart(sessionId: string, n: number, part: CheckpointPart, bytes: Uint8Array) {
    const name = objectName(sessionId, n, part)
    const sealed = await sealBytes(this.p.secretsKey, name, bytes)
    await this.p.bucket!.put(name, sealed).catch((err: unknown) => {
      log('warn', 'checkpoint not stored', { sessionId, err: errorMessage(err) })
      throw new CheckpointStepError('the checkpoint store (R2) did not take it')
    })
  }

  private async part(n: number, part: CheckpointPart): Promise<Uint8Array<ArrayBuffer>> {
    const name = objectName(this.p.store.row.id, n, part)
    const object = await this.p.bucket!.get(name)
    if (!object) throw new CheckpointUnreadableError(n)
    return openBytes(this.p.secretsKey, name, new Uint8Array(await object.arrayBuffer())).catch(() => {
      throw new CheckpointUnreadableError(n)
    })
  }
}

/** `work`'s outcome, a checkpoint that does not open answered as `checkpoint_unreadable` rather than thrown. */
async function readable<T>(work: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
  try {
    return await work()
  } catch (err) {
    if (err instanceof CheckpointUnreadableError) return fail('checkpoint_unreadable', err.message)
    throw err
  }
}

async function gzip(text: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer())
}

async function sha256(...parts: Uint8Array[]): Promise<string> {
  const all = new Uint8Array(await new Blob(parts).arrayBuffer())
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all))
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('')
}
