import { DurableObject } from 'cloudflare:workers'
import {
  structuredOutcome,
  type CallbackAttempt,
  type CreateRunInput,
  type GitHubTarget,
  type RunRequest,
  type RunSignal,
  type RunStatus,
  type RunView,
  type SlackTarget,
  zeroUsage,
} from '../contracts'
import { schedulesStub, sessionStub, type RunRpc } from '../durable-objects'
import type { Bindings } from '../env'
import { fail, ok, type Outcome } from '../lib/errors'
import { newId } from '../lib/ids'
import { updateRow } from '../lib/row'
import { errorMessage, log, logEvent } from '../lib/log'
import type { PullRequestPlan } from '../github/pull-request'
import { commentBody, githubComment, startedComment } from './github'
import { githubSetup, publishRun, type GitHubSetup } from './github-pr'
import { editProgress, postProgress, reportToSlack } from './slack-api'
import { slackRules } from './slack'
import { askerOf, type AskPlace } from './approvals'
import { answerWhereAsked, askerFor, tell, type PermissionAsked } from './run-asks'
import { callbackRetryDelay, SETTLE_MS } from './policy'
import { CONTINUED_FIELDS, continuedRow, ownThread, sessionKeptUntil, threadTurn, type ThreadReply } from './thread-turn'
import { postCallback } from './callback-post'
import { runViewOf, type RunRow } from './run-row'
import { migratedSql } from '../lib/migrations'
import { sealJson } from '../lib/sealed'
import { RUN_MIGRATIONS } from './schema'
import { forgetAt, forgetStorage } from '../lib/retention'
import { readSettings } from '../config/settings'

/** How long a run may take when it does not say. */
const DEFAULT_TIMEOUT_SECONDS = 30 * 60

const FINAL: RunStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out']

/**
 * One background run: a session in background mode with a single prompt, watched until its
 * turn settles, its deadline passes, or it is cancelled; then its result is collected, its
 * sandbox stopped, and the run delivered to its callback (or GitHub issue) with retries. A run
 * started in a Slack thread keeps its session a while instead, and a message in the thread runs
 * it again for one more turn (./thread-turn). Every wait is an alarm, so a restart loses nothing.
 */
export class RunDO extends DurableObject<Bindings> implements RunRpc {
  private readonly sql: SqlStorage
  private row: RunRow | undefined

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = migratedSql(ctx.storage, RUN_MIGRATIONS)
    this.row = this.sql.exec<RunRow>('SELECT * FROM run').toArray()[0]
  }

  /** Starts the run, or returns it as it is when it was started before (idempotency). */
  async start(input: CreateRunInput): Promise<Outcome<RunView>> {
    if (this.row) return ok(this.view())
    const now = Date.now()
    const sessionId = newId('ses')
    const timeout = input.request.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS
    this.sql.exec(
      `INSERT INTO run (id, tenant, session_id, status, request, github, slack, schedule_id, created_at, updated_at, deadline, callback_state, callback_attempts)
       VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, 'none', '[]')`,
      input.id,
      input.tenant,
      sessionId,
      JSON.stringify(input.request),
      input.github ? JSON.stringify(input.github) : null,
      input.slack ? JSON.stringify(input.slack) : null,
      input.scheduleId ?? null,
      new Date(now).toISOString(),
      new Date(now).toISOString(),
      now + timeout * 1000,
    )
    this.row = this.sql.exec<RunRow>('SELECT * FROM run').one()
    if (input.repoToken !== undefined) this.update({ repo_token: await sealJson(this.env.SECRETS_KEY ?? '', input.repoToken) })
    // The deadline holds from here on, whatever happens to the session's creation or to this object.
    await this.schedule()
    if (input.github) {
      // People see their request taken at once; this comment becomes the result.
      const posted = await githubComment(this.env, input.github, startedComment(input.id))
      if (posted !== 'unreachable' && posted.id !== undefined) this.update({ comment_id: posted.id })
    }
    if (input.slack) {
      const ts = await postProgress(this.env, input.slack, input.id)
      if (ts !== undefined) this.update({ slack_ts: ts })
    }
    let setup: GitHubSetup
    try {
      setup = await githubSetup(this.env, input)
    } catch (err) {
      if (!this.isFinal()) {
        this.update({ error: JSON.stringify({ code: 'github_failed', message: errorMessage(err) }) })
        await this.finish('failed')
      }
      return ok(this.view())
    }
    if (setup.plan) this.update({ pr: JSON.stringify(setup.plan) })
    const created = await this.createSession(input, setup)
    if (!created.ok) {
      // Refused or broken before it began: the run ends failed with the reason, which the answer to
      // its start carries, so no callback is sent (a GitHub comment saying it runs is still
      // corrected); its key keeps naming this failed run.
      if (!this.isFinal()) {
        this.update({ error: JSON.stringify({ code: created.error.code, message: created.error.message }) })
        await this.finish('failed', { answered: true })
      }
      return ok(this.view())
    }
    this.update({ status: 'running' })
    await this.schedule()
    return ok(this.view())
  }

  /** The run's session, created; a throw (the session object broke) is an outcome like a refusal. */
  private async createSession(input: CreateRunInput, github: GitHubSetup): Promise<Outcome<unknown>> {
    const { prompt, model, runtime, permissions, limits, outputSchema } = input.request
    const repo = github.repo ?? input.request.repo
    try {
      return await this.session().create({
        id: this.row!.session_id,
        tenant: input.tenant,
        prompt,
        spec: {
          repo,
          model,
          ...(runtime && { runtime }),
          permissions,
          limits,
          runId: input.id,
          gatewayUrl: input.gatewayUrl,
          ...(outputSchema && { outputSchema }),
          // Someone answers: the agent's asks are put to them, where it started or at its callback.
          ...(askerOf({ github: input.github ?? null, slack: input.slack ?? null, request: input.request }, slackRules(this.env).approvers) && { approvals: true }),
          ...(github.githubClone && { githubClone: true }),
        },
        modelKeys: input.modelKeys,
        repoToken: input.repoToken,
      })
    } catch (err) {
      log('error', 'run session create failed', { runId: input.id, err: errorMessage(err) })
      return fail('internal_error', "the run's session could not be created")
    }
  }

  async get(tenant: string): Promise<Outcome<RunView>> {
    if (this.row?.tenant !== tenant) return fail('not_found', 'no such run')
    return ok(this.view())
  }

  async cancel(tenant: string): Promise<Outcome<RunView>> {
    if (this.row?.tenant !== tenant) return fail('not_found', 'no such run')
    if (!this.isFinal()) await this.finish('cancelled')
    // Between turns, a cancel lets the session kept for the thread go.
    else if (this.row.session_kept_until !== null) await this.endKeptSession()
    return ok(this.view())
  }

  /**
   * A message in the run's Slack thread, of its team: one more turn of its session while the
   * session is kept (./thread-turn). The run runs again: its progress message says so, and the
   * turn ends as the first did, in a result, the pull request brought up to date, and a reply.
   */
  async continueThread(tenant: string, target: SlackTarget, text: string, key: string): Promise<ThreadReply> {
    const row = this.row
    const own = row?.slack ? (JSON.parse(row.slack) as SlackTarget) : undefined
    if (!row || row.tenant !== tenant || !ownThread(own, target)) return { refused: 'elsewhere', reason: 'no run of this thread' }
    const turn = threadTurn({ final: this.isFinal(), delivering: row.callback_state === 'pending', sessionKeptUntil: row.session_kept_until }, Date.now())
    if (turn === 'busy') return { refused: 'busy', reason: 'the run is still working on the last request' }
    if (turn === 'ended') return { refused: 'ended', reason: "the run's session has ended" }
    const ended = Object.fromEntries(CONTINUED_FIELDS.map((f) => [f, row[f]])) as Partial<RunRow>
    const timeout = (JSON.parse(row.request) as RunRequest).timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS
    // Running before the message is sent: the turn's signals may come before the send's answer.
    this.update(continuedRow(Date.now() + timeout * 1000))
    const sent = await this.session()
      .send(tenant, { text, idempotencyKey: key })
      .catch((err: unknown) => fail('internal_error', errorMessage(err)))
    if (!sent.ok) {
      // A session over (or gone) takes no turn; one refusing this message (its budget) still may later.
      const gone = sent.error.code === 'conflict' || sent.error.code === 'not_found'
      this.update({ ...ended, ...(gone && { session_kept_until: null }) })
      await this.schedule()
      return gone ? { refused: 'ended', reason: "the run's session has ended" } : { refused: 'unsent', reason: sent.error.message }
    }
    await this.schedule()
    if (row.slack_ts !== null) await editProgress(this.env, own, row.slack_ts, row.id, 'running', 'Working on the reply in this thread.')
    return { continued: this.view() }
  }

  private async endKeptSession() {
    this.update({ session_kept_until: null })
    await this.endSession()
    await this.schedule()
  }

  private async endSession() {
    const { id, tenant } = this.row!
    await this.session()
      .end(tenant)
      .catch((err: unknown) => log('warn', 'run session end failed', { runId: id, err: errorMessage(err) }))
  }

  /** Told by the run's session as its turn goes. */
  async signal(sig: RunSignal): Promise<void> {
    if (!this.row || this.isFinal()) return
    if (sig.kind === 'turn_done') {
      const request = JSON.parse(this.row.request) as RunRequest
      const outcome = structuredOutcome(request.outputSchema, sig.structured)
      this.update({
        reply: sig.text,
        settle_at: Date.now() + SETTLE_MS,
        ...(outcome.structured !== undefined && { structured: JSON.stringify(outcome.structured) }),
        // A turn that failed for another reason keeps that reason.
        ...(outcome.error && !this.row.error && { error: JSON.stringify(outcome.error) }),
      })
      await this.schedule()
    } else if (sig.kind === 'permission_asked') {
      await this.ask(sig)
    } else if (sig.kind === 'error') {
      this.update({ error: JSON.stringify({ code: sig.code, message: sig.message }) })
      if (this.row.settle_at !== null) await this.schedule()
    } else {
      this.update({ error: JSON.stringify({ code: sig.code, message: sig.message }) })
      await this.finish('failed')
    }
  }

  /** An answer to the agent's request from where the run asked (./run-asks). */
  async answerAsk(tenant: string, where: AskPlace, reply: 'once' | 'reject'): Promise<Outcome<{ permissionId: string }>> {
    const answered = await answerWhereAsked(this.env, this.row, this.row !== undefined && this.isFinal(), tenant, where, reply)
    if (answered.ok) this.update({ asked_permission: null })
    return answered
  }

  /** The agent's request, put to whoever answers it: the people where the run started, or its callback's receiver. */
  private async ask(sig: PermissionAsked) {
    const row = this.row!
    const asker = askerFor(this.env, row, sig.permissionId)
    if (asker === undefined) return
    this.update({ asked_permission: sig.permissionId })
    const told = await tell(this.env, this.row!, asker, sig).catch((err: unknown) => {
      log('warn', 'run ask failed', { runId: row.id, err: errorMessage(err) })
      return false
    })
    // Unheard, the request is rejected when PENDING_TIMEOUT_SECONDS pass, as any unanswered one.
    if (!told) log('warn', 'run could not ask', { runId: row.id, where: asker })
  }

  override async alarm(): Promise<void> {
    if (!this.row) return
    const now = Date.now()
    const forget = this.forgetAt()
    if (forget !== undefined && now >= forget) {
      await forgetStorage(this.ctx.storage, RUN_MIGRATIONS)
      this.row = undefined
      return
    }
    if (!this.isFinal()) {
      if (now >= this.row.deadline) await this.finish('timed_out')
      else if (this.row.settle_at !== null && now >= this.row.settle_at) await this.finish(this.row.error ? 'failed' : 'succeeded')
    } else if (this.row.session_kept_until !== null && now >= this.row.session_kept_until) {
      await this.endKeptSession()
    }
    if (this.row.callback_state === 'pending' && this.row.next_callback_at !== null && now >= this.row.next_callback_at) {
      await this.deliver()
    }
    await this.schedule()
  }

  private session() {
    return sessionStub(this.env, this.row!.session_id)
  }

  private isFinal(): boolean {
    return FINAL.includes(this.row!.status)
  }

  private update(fields: Partial<RunRow>) {
    if (fields.status && fields.status !== this.row!.status) {
      logEvent('run.status', { tenant: this.row!.tenant, runId: this.row!.id, sessionId: this.row!.session_id, status: fields.status })
    }
    this.row = updateRow(this.sql, 'run', this.row!, fields)
  }

  /** When an ended run, its delivery settled, is deleted (ENDED_RETENTION_SECONDS after, like a session). */
  private forgetAt(): number | undefined {
    const row = this.row!
    if (!this.isFinal() || row.callback_state === 'pending' || row.session_kept_until !== null) return undefined
    return forgetAt(Date.parse(row.updated_at), readSettings(this.env).endedRetentionSeconds * 1000)
  }

  private async schedule() {
    const row = this.row!
    const times = [
      ...(this.isFinal() ? [row.session_kept_until] : [row.deadline, row.settle_at]),
      row.callback_state === 'pending' ? row.next_callback_at : null,
      this.forgetAt() ?? null,
    ].filter((t): t is number => t !== null)
    if (times.length === 0) await this.ctx.storage.deleteAlarm()
    else await this.ctx.storage.setAlarm(Math.min(...times))
  }

  /**
   * Collects the result, settles the run, stops the sandbox, and queues the delivery, unless the
   * run ended while it started (`answered`): the answer to its start said so, and a callback per
   * refused start would let a tenant's requests multiply into the Worker's.
   */
  private async finish(status: RunStatus, { answered = false } = {}) {
    const row = this.row!
    const session = this.session()
    const fields: Partial<RunRow> = { status }
    // A run still queued never got its session: there is nothing to collect.
    if ((status === 'succeeded' || status === 'failed') && row.status !== 'queued') {
      const [view, diff] = await Promise.all([session.get(row.tenant), session.workspacePatch(row.tenant)])
      const patch = diff.ok ? diff.value : undefined
      if (!diff.ok) log('warn', 'run diff unavailable', { runId: row.id, err: diff.error.message })
      const usage = view.ok ? view.value.usage : zeroUsage()
      // Written while the sandbox is still there: the files are read from its workspace.
      const pullRequest = status === 'succeeded' && row.pr ? await this.publish(JSON.parse(row.pr) as PullRequestPlan) : undefined
      const structured = row.structured === null ? undefined : (JSON.parse(row.structured) as unknown)
      fields.result = JSON.stringify({
        text: row.reply ?? '',
        ...(structured !== undefined && { structured }),
        ...(patch && { diff: patch }),
        usage,
        ...(view.ok && { spend: view.value.spend }),
        ...(pullRequest && { pullRequest }),
      })
    }
    if (status === 'timed_out') fields.error = JSON.stringify({ code: 'timed_out', message: 'the run took longer than its timeoutSeconds' })
    if (status === 'cancelled') fields.error = JSON.stringify({ code: 'cancelled', message: 'the run was cancelled' })
    const request = JSON.parse(row.request) as RunRequest
    if (row.github !== null || row.slack !== null || (request.callback !== undefined && !answered)) Object.assign(fields, { callback_state: 'pending', next_callback_at: Date.now() })
    else if (request.callback !== undefined) fields.callback_state = 'skipped'
    // Settled first: what the session reports while it is being stopped no longer changes the run.
    // The token served the pull request, which is written by now.
    const keptUntil = sessionKeptUntil({ status, inSlackThread: row.slack !== null, hadSession: row.status !== 'queued' && !answered }, Date.now())
    this.update({ ...fields, repo_token: null, session_kept_until: keptUntil })
    if (keptUntil === null) await this.endSession()
    await this.schedule()
    // The schedule also asks when it next fires, so a message lost here only delays what it learns.
    if (row.schedule_id !== null) {
      await schedulesStub(this.env, row.tenant)
        .runEnded(row.schedule_id, row.id, status)
        .catch((err: unknown) => log('warn', 'schedule not told of its run', { runId: row.id, err: errorMessage(err) }))
    }
  }

  private async publish(plan: PullRequestPlan) {
    const { id, tenant, reply, repo_token } = this.row!
    const session = this.session()
    return publishRun(
      this.env,
      plan,
      { changes: () => session.workspaceChanges(tenant), readFile: (path) => session.readFile(tenant, path) },
      { id, tenant, summary: reply ?? '', sealedRepoToken: repo_token },
    )
  }

  /** One delivery attempt, recorded; retried through the alarm (so across restarts) until the schedule is spent. */
  private async deliver() {
    const row = this.row!
    const attempts = JSON.parse(row.callback_attempts) as CallbackAttempt[]
    const attempt: CallbackAttempt = { at: new Date().toISOString() }
    try {
      const res = row.github
        ? await githubComment(this.env, JSON.parse(row.github) as GitHubTarget, commentBody(this.view()), row.comment_id ?? undefined)
        : row.slack
          ? await reportToSlack(this.env, JSON.parse(row.slack) as SlackTarget, row.slack_ts, this.view())
          : await postCallback(this.env, this.row!.tenant, this.view(), (JSON.parse(row.request) as RunRequest).callback!.url)
      if (typeof res === 'string') attempt.error = res
      else attempt.status = res.status
    } catch (err) {
      // The run is shown to its tenant: what a network error says about the far side stays in the log.
      log('warn', 'run delivery failed', { runId: row.id, err: errorMessage(err) })
      attempt.error = 'unreachable'
    }
    attempts.push(attempt)
    const delivered = attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300
    const delay = delivered ? undefined : callbackRetryDelay(attempts.length, Math.random())
    this.update({
      callback_attempts: JSON.stringify(attempts),
      callback_state: delivered ? 'delivered' : delay === undefined ? 'failed' : 'pending',
      next_callback_at: delay === undefined ? null : Date.now() + delay,
    })
  }

  private view(): RunView {
    return runViewOf(this.row!)
  }
}
