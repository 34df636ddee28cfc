import { DurableObject } from 'cloudflare:workers'
import type { CreateRunBody, RunStatus, ScheduleBody, SchedulePatch, ScheduleRunView, ScheduleView, ShownRun } from '../contracts'
import { runStub, type SchedulesRpc } from '../durable-objects'
import type { Bindings } from '../env'
import { nextFiring } from '../lib/cron'
import { fail, ok, type Outcome } from '../lib/errors'
import { newId } from '../lib/ids'
import { errorMessage, log, logEvent } from '../lib/log'
import { migratedSql } from '../lib/migrations'
import { openJson, sealJson } from '../lib/sealed'
import { afterRun, dueFiring, isFinal, KEPT_FIRINGS } from './rules'
import { SCHEDULE_MIGRATIONS } from './schema'
import { runIdFor, startTriggered } from '../runs/trigger'

type ScheduleRow = {
  id: string
  tenant: string
  cron: string
  timezone: string
  /** the run body as shown (ShownRun, JSON): without model keys and token */
  run: string
  /** the run's model keys and repository token, sealed under SECRETS_KEY */
  secrets: string | null
  gateway_url: string
  state: 'active' | 'paused'
  paused_reason: string | null
  next_at: number | null
  last_fired_at: number | null
  failures: number
  /** the run of the last firing while it has not ended: the next firing waits for it */
  open_run: string | null
  created_at: number
  updated_at: number
}

type FiringRow = { run_id: string; schedule_id: string; fired_at: number; status: RunStatus; error: string | null }

type Secrets = { modelKeys?: Record<string, string>; repoToken?: string }

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** The run body a schedule keeps in plain, and its secrets apart; its idempotency key is each firing's. */
function splitRun(body: CreateRunBody): { shown: ShownRun; secrets: Secrets } {
  const { modelKeys, repo, idempotencyKey: _perFiring, ...rest } = body
  const shown: ShownRun = {
    ...rest,
    ...(repo && { repo: { url: repo.url, ...(repo.ref && { ref: repo.ref }) } }),
    ...(modelKeys && { modelKeys: Object.keys(modelKeys) }),
  }
  return { shown, secrets: { ...(modelKeys && { modelKeys }), ...(repo?.token && { repoToken: repo.token }) } }
}

/**
 * One per tenant: its schedules, each firing a run when its cron expression comes due in its time
 * zone. The object's one alarm is set for the earliest schedule due, so nothing outside the
 * Worker keeps time. A firing starts one run through the trigger module and waits for it before
 * the next (a firing that comes while it still runs is skipped); the run says when it ended, and
 * three in a row that did not succeed pause the schedule.
 */
export class TenantSchedules extends DurableObject<Bindings> implements SchedulesRpc {
  private readonly sql: SqlStorage

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env)
    this.sql = migratedSql(ctx.storage, SCHEDULE_MIGRATIONS)
  }

  async create(tenant: string, body: ScheduleBody, gatewayUrl: string, limit: number): Promise<Outcome<ScheduleView>> {
    const count = Number(this.sql.exec('SELECT COUNT(*) AS n FROM schedules').one().n)
    if (count >= limit) return fail('too_many_requests', `the tenant has ${count} schedules (at most ${limit}); delete one first`)
    const now = Date.now()
    const id = newId('sch')
    const { shown, secrets } = splitRun(body.run)
    const paused = body.paused === true
    this.sql.exec(
      `INSERT INTO schedules (id, tenant, cron, timezone, run, secrets, gateway_url, state, paused_reason, next_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      tenant,
      body.cron,
      body.timezone,
      JSON.stringify(shown),
      await this.seal(secrets),
      gatewayUrl,
      paused ? 'paused' : 'active',
      paused ? 'created paused' : null,
      paused ? null : (nextFiring(body.cron, body.timezone, now) ?? null),
      now,
      now,
    )
    logEvent('schedule.created', { tenant, scheduleId: id })
    await this.arm()
    return ok(this.view(this.row(id)!))
  }

  async list(tenant: string): Promise<Outcome<ScheduleView[]>> {
    const rows = this.sql.exec<ScheduleRow>('SELECT * FROM schedules WHERE tenant = ? ORDER BY created_at, id', tenant).toArray()
    return ok(rows.map((r) => this.view(r)))
  }

  async get(tenant: string, id: string): Promise<Outcome<ScheduleView>> {
    const row = this.owned(tenant, id)
    return row ? ok(this.view(row)) : fail('not_found', 'no such schedule')
  }

  async update(tenant: string, id: string, patch: SchedulePatch, gatewayUrl: string): Promise<Outcome<ScheduleView>> {
    const row = this.owned(tenant, id)
    if (!row) return fail('not_found', 'no such schedule')
    const cron = patch.cron ?? row.cron
    const timezone = patch.timezone ?? row.timezone
    const fields: Partial<ScheduleRow> = { cron, timezone }
    if (patch.run) {
      const { shown, secrets } = splitRun(patch.run)
      Object.assign(fields, { run: JSON.stringify(shown), secrets: await this.seal(secrets), gateway_url: gatewayUrl })
    }
    if (row.state === 'active') fields.next_at = nextFiring(cron, timezone, Date.now()) ?? null
    this.write(id, fields)
    await this.arm()
    return ok(this.view(this.row(id)!))
  }

  async remove(tenant: string, id: string): Promise<Outcome<null>> {
    if (!this.owned(tenant, id)) return fail('not_found', 'no such schedule')
    // Its runs go on and end as runs do; only the schedule and its list of them go.
    this.sql.exec('DELETE FROM firings WHERE schedule_id = ?', id)
    this.sql.exec('DELETE FROM schedules WHERE id = ?', id)
    logEvent('schedule.deleted', { tenant, scheduleId: id })
    await this.arm()
    return ok(null)
  }

  async pause(tenant: string, id: string): Promise<Outcome<ScheduleView>> {
    const row = this.owned(tenant, id)
    if (!row) return fail('not_found', 'no such schedule')
    if (row.state === 'active') this.write(id, { state: 'paused', paused_reason: 'paused by request', next_at: null })
    await this.arm()
    return ok(this.view(this.row(id)!))
  }

  /** Active again from now, its count of failures in a row cleared. */
  async resume(tenant: string, id: string): Promise<Outcome<ScheduleView>> {
    const row = this.owned(tenant, id)
    if (!row) return fail('not_found', 'no such schedule')
    if (row.state === 'paused') {
      this.write(id, { state: 'active', paused_reason: null, failures: 0, next_at: nextFiring(row.cron, row.timezone, Date.now()) ?? null })
    }
    await this.arm()
    return ok(this.view(this.row(id)!))
  }

  async runs(tenant: string, id: string): Promise<Outcome<ScheduleRunView[]>> {
    const row = this.owned(tenant, id)
    if (!row) return fail('not_found', 'no such schedule')
    // A run that could not say it ended (the message was lost) is asked here.
    if (row.open_run !== null) await this.askRun(row)
    const firings = this.sql
      .exec<FiringRow>('SELECT * FROM firings WHERE schedule_id = ? ORDER BY fired_at DESC, run_id DESC', id)
      .toArray()
    return ok(firings.map((f) => ({ runId: f.run_id, firedAt: iso(f.fired_at)!, status: f.status, ...(f.error !== null && { error: f.error }) })))
  }

  async runEnded(scheduleId: string, runId: string, status: RunStatus): Promise<void> {
    this.settle(scheduleId, runId, status)
    await this.arm()
  }

  override async alarm(): Promise<void> {
    const now = Date.now()
    const due = this.sql.exec<ScheduleRow>("SELECT * FROM schedules WHERE state = 'active' AND next_at <= ? ORDER BY next_at", now).toArray()
    for (const row of due) {
      try {
        await this.fire(row, now)
      } catch (err) {
        // One schedule's trouble must not stop the others firing; it tries again at its next time.
        log('error', 'schedule firing failed', { scheduleId: row.id, err: errorMessage(err) })
      }
    }
    await this.arm()
  }

  /** The firing due at `row.next_at`, named by it: an alarm run again after a crash reaches the same run. */
  private async fire(row: ScheduleRow, now: number) {
    if (row.open_run !== null) await this.askRun(row)
    const current = this.row(row.id)
    if (!current || current.state !== 'active') return
    const due = dueFiring({ cron: current.cron, timezone: current.timezone, runOpen: current.open_run !== null }, now)
    this.write(row.id, { next_at: due.nextAt ?? null, ...(due.nextAt === undefined && { state: 'paused', paused_reason: 'its cron expression never fires again' }) })
    if (!due.fire) {
      log('info', 'schedule firing skipped: its last run is still going', { scheduleId: row.id, runId: current.open_run })
      return
    }
    const runId = await runIdFor(row.tenant, `schedule:${row.id}:${row.next_at}`)
    this.sql.exec(
      "INSERT OR IGNORE INTO firings (run_id, schedule_id, fired_at, status) VALUES (?, ?, ?, 'queued')",
      runId,
      row.id,
      now,
    )
    this.sql.exec(
      `DELETE FROM firings WHERE schedule_id = ? AND run_id NOT IN
         (SELECT run_id FROM firings WHERE schedule_id = ? ORDER BY fired_at DESC LIMIT ?)`,
      row.id,
      row.id,
      KEPT_FIRINGS,
    )
    this.write(row.id, { open_run: runId, last_fired_at: now })
    logEvent('schedule.fired', { tenant: row.tenant, scheduleId: row.id, runId })
    let secrets: Secrets
    try {
      secrets = current.secrets === null ? {} : await openJson<Secrets>(this.env.SECRETS_KEY ?? '', current.secrets)
    } catch (err) {
      this.settle(row.id, runId, 'failed', `its model keys or repository token could not be opened: ${errorMessage(err)}`)
      return
    }
    const shown = JSON.parse(current.run) as ShownRun
    const { modelKeys: _providers, repo, ...rest } = shown
    const body: CreateRunBody = {
      ...rest,
      ...(repo && { repo: { ...repo, ...(secrets.repoToken && { token: secrets.repoToken }) } }),
      ...(secrets.modelKeys && { modelKeys: secrets.modelKeys }),
    }
    const started = await startTriggered(
      this.env,
      { tenant: row.tenant, body, reportTo: { kind: 'schedule', scheduleId: row.id }, gatewayUrl: current.gateway_url },
      runId,
    )
    if (!started.ok) this.settle(row.id, runId, 'failed', started.error.message)
    else this.settle(row.id, runId, started.value.status)
  }

  /** Asks the schedule's open run how it stands, and settles it when it has ended. */
  private async askRun(row: ScheduleRow) {
    const runId = row.open_run!
    const run = await runStub(this.env, runId)
      .get(row.tenant)
      .catch(() => undefined)
    // A run that is gone (never made, or forgotten) is no longer running.
    if (run && !run.ok && run.error.code === 'not_found') this.settle(row.id, runId, 'failed', 'the run is gone')
    else if (run?.ok) this.settle(row.id, runId, run.value.status)
  }

  /**
   * What a run's status means for its schedule: recorded, and when it is final (once per run),
   * counted toward the failures in a row, which may pause the schedule.
   */
  private settle(scheduleId: string, runId: string, status: RunStatus, error?: string) {
    const firing = this.sql.exec<FiringRow>('SELECT * FROM firings WHERE run_id = ?', runId).toArray()[0]
    const row = this.row(scheduleId)
    if (!firing || !row || isFinal(firing.status)) return
    this.sql.exec('UPDATE firings SET status = ?, error = ? WHERE run_id = ?', status, error ?? null, runId)
    if (!isFinal(status)) return
    const next = afterRun(row.failures, status)
    this.write(scheduleId, {
      failures: next.failuresInARow,
      ...(row.open_run === runId && { open_run: null }),
      ...(next.pause !== undefined && row.state === 'active' && { state: 'paused', paused_reason: next.pause, next_at: null }),
    })
    if (next.pause !== undefined) logEvent('schedule.paused', { tenant: row.tenant, scheduleId, reason: next.pause })
  }

  private async arm() {
    const next = this.sql.exec<{ at: number | null }>("SELECT MIN(next_at) AS at FROM schedules WHERE state = 'active'").one().at
    if (next === null) await this.ctx.storage.deleteAlarm()
    else await this.ctx.storage.setAlarm(next)
  }

  private async seal(secrets: Secrets): Promise<string | null> {
    return Object.keys(secrets).length === 0 ? null : sealJson(this.env.SECRETS_KEY ?? '', secrets)
  }

  private row(id: string): ScheduleRow | undefined {
    return this.sql.exec<ScheduleRow>('SELECT * FROM schedules WHERE id = ?', id).toArray()[0]
  }

  private owned(tenant: string, id: string): ScheduleRow | undefined {
    const row = this.row(id)
    return row?.tenant === tenant ? row : undefined
  }

  /** Column names come from our own row type, never from input, so they can be spliced into the statement. */
  private write(id: string, fields: Partial<ScheduleRow>) {
    const entries = Object.entries({ ...fields, updated_at: Date.now() })
    this.sql.exec(`UPDATE schedules SET ${entries.map(([k]) => `${k} = ?`).join(', ')} WHERE id = ?`, ...entries.map(([, v]) => v), id)
  }

  private view(row: ScheduleRow): ScheduleView {
    return {
      id: row.id,
      cron: row.cron,
      timezone: row.timezone,
      run: JSON.parse(row.run) as ShownRun,
      state: row.state,
      ...(row.paused_reason !== null && { pausedReason: row.paused_reason }),
      nextRunAt: iso(row.next_at),
      lastFiredAt: iso(row.last_fired_at),
      consecutiveFailures: row.failures,
      createdAt: iso(row.created_at)!,
      updatedAt: iso(row.updated_at)!,
    }
  }
}
