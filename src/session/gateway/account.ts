import { tenantStub } from '../../durable-objects'
import type { Bindings } from '../../env'
import { event, type Limits } from '../../contracts'
import type { SessionUsage } from '../usage/report'
import { budgetWarning, checkBudget, costCapped, type BudgetCheck, type TenantSpend } from '../../gateway/budget'
import { priceOf } from '../../gateway/prices'
import { deploymentRoutes, routeFor } from '../../gateway/routes'
import { reservationFor, settle, STALE_AFTER_MS, type CallEnd, type CallGrant, type PaidCall } from '../../gateway/spend'
import { noUsage } from '../../gateway/meter'
import { fail, ok, type Outcome } from '../../lib/errors'
import { errorMessage, log } from '../../lib/log'
import { readSettings } from '../../config/settings'
import { Reservations } from './reservations'
import { openSecrets } from '../store/secrets'
import type { SessionRow } from '../store/session-store'
import type { Signals } from '../signals'

/** The session row's columns this account reads and writes. */
export type SpendRow = Pick<
  SessionRow,
  | 'id'
  | 'tenant'
  | 'secrets'
  | 'cost'
  | 'output_tokens'
  | 'gateway_digest'
  | 'gw_input_tokens'
  | 'gw_output_tokens'
  | 'gw_cost'
  | 'spend_reported'
  | 'budget_exceeded'
  | 'budget_warned'
>

/** The session around the account: its row, its limits, whether it is over, and how it tells. */
export type AccountPorts = {
  env: Bindings
  row(): SpendRow
  update(fields: Partial<SpendRow>): void
  limits(): Limits | undefined
  isOver(): boolean
  /** holds the session's `gateway_reservations` */
  sql: SqlStorage
  /** clients learn once that the budget is spent (and a run fails), or that a model has no price */
  signals: Pick<Signals, 'emit' | 'tellRun'>
  /** every settled call is a usage report to the tenant: its usage is the metered bill */
  usage: Pick<SessionUsage, 'callSettled'>
}

/**
 * A session's account with the model gateway: which calls its sandbox may make, with which key,
 * what they used, and what the session and its tenant have spent against their caps. A paid call
 * is granted against a reservation and settled with what the provider said it used.
 */
export class GatewayAccount {
  /** models already told of as unpriced, so that a looping agent makes one event, not one per call */
  private readonly toldUnpriced = new Set<string>()

  private readonly reservations: Reservations

  constructor(private readonly s: AccountPorts) {
    this.reservations = new Reservations(s.sql)
  }

  private tenantIndex() {
    return tenantStub(this.s.env, this.s.row().tenant)
  }

  async grant(digest: string, provider: string, call: PaidCall | undefined): Promise<Outcome<CallGrant>> {
    const row = this.s.row()
    if (!row.gateway_digest || row.gateway_digest !== digest || this.s.isOver()) return fail('unauthorized', 'not a valid gateway token')
    const route = routeFor(deploymentRoutes(readSettings(this.s.env)), provider)
    if (!route) return fail('not_found', `this deployment has no model provider "${provider}"`)
    const price = call?.model ? priceOf(route, call.model) : undefined
    if (call && !price && costCapped(this.s.limits(), this.caps())) {
      const model = call.model ? `"${provider}/${call.model}"` : `a call to "${provider}" that names no model`
      const reason = `${model} has no known price, and a cost cap holds this session, so it cannot be let through`
      if (!this.toldUnpriced.has(model)) {
        this.toldUnpriced.add(model)
        this.refused('price_unknown', reason)
      }
      return fail('price_unknown', reason)
    }
    const ownKeys = (await openSecrets(this.s.env.SECRETS_KEY, row.secrets)).modelKeys ?? {}
    // The session's own caps: checked and reserved in one step (nothing awaited between), so
    // calls granted side by side each see the others' reservations.
    const own = this.check(undefined)
    if (!own.ok) return this.exceeded(own.reason)
    const reserved = call && reservationFor(call, price)
    const reservation = reserved ? this.reservations.add(reserved, Date.now()) : null
    const tenant = await this.reserveAtTenant(reservation, reserved?.cost ?? 0)
    if (!tenant.ok) return this.exceeded(tenant.reason)
    if (row.budget_exceeded) this.s.update({ budget_exceeded: null })
    return ok({ route, key: ownKeys[provider] ?? route.key, reservation })
  }

  /**
   * The tenant's caps count every session's calls in flight: its index grants the call and holds
   * its reservation until it is settled. A call it refuses, or that could not be asked about, is
   * no longer in flight here either.
   */
  private async reserveAtTenant(reservation: string | null, cost: number): Promise<BudgetCheck> {
    if (!this.tenantCapped()) return { ok: true }
    const answer = await this.tenantIndex()
      .reserve(reservation ?? crypto.randomUUID(), cost)
      .catch((err: unknown) => {
        if (reservation) this.reservations.take(reservation)
        throw err
      })
    if (!answer.ok && reservation) this.reservations.take(reservation)
    return answer
  }

  private exceeded(reason: string) {
    this.noteExceeded(reason)
    return fail('budget_exceeded', reason)
  }

  /**
   * Settles a call with what its answer said it used; a call without a reservation (free) is
   * counted as metered. A reservation already settled (see settleStale) is not charged again.
   */
  async report(provider: string, reservation: string | null, end: CallEnd) {
    const route = routeFor(deploymentRoutes(readSettings(this.s.env)), provider)
    const price = route && end.model ? priceOf(route, end.model) : undefined
    const reserved = reservation ? this.reservations.take(reservation) : { cost: 0, outputTokens: 0 }
    if (!reserved) return
    const charged = settle(reserved, end.used, price, reservation ? end : { whole: true, billed: false })
    this.s.usage.callSettled(reservation ?? crypto.randomUUID(), { provider, ...(end.model && { model: end.model }) }, charged)
    const row = this.s.row()
    this.s.update({
      gw_input_tokens: row.gw_input_tokens + charged.inputTokens + charged.cacheReadTokens + charged.cacheWriteTokens,
      gw_output_tokens: row.gw_output_tokens + charged.outputTokens,
      gw_cost: row.gw_cost + charged.cost,
    })
    await this.reportSpend(reservation ?? undefined)
    const tenant = await this.tenantSpend()
    const budget = this.check(tenant)
    if (!budget.ok) this.noteExceeded(budget.reason)
    this.warnOnce(tenant)
  }

  /** Tells clients once that the session's spend reached WARN_AT of a cost cap. */
  private warnOnce(tenant: TenantSpend | undefined) {
    const row = this.s.row()
    if (row.budget_warned) return
    const warning = budgetWarning(this.s.limits(), Math.max(row.gw_cost, row.cost), tenant)
    if (!warning) return
    this.s.update({ budget_warned: 1 })
    this.s.signals.emit(event('budget.warning', warning))
  }

  /**
   * On the session's alarm: a call whose report has not come STALE_AFTER_MS after it was granted
   * (the Worker that carried it went away) is charged its reservation, so it is neither free nor
   * held against the caps for ever; spend the tenant did not take last time is sent again.
   */
  async settleStale(now: number) {
    for (const id of this.reservations.staleIds(now - STALE_AFTER_MS)) {
      await this.report('', id, { used: noUsage(), whole: false, billed: true })
    }
    await this.reportSpend()
  }

  private caps() {
    const settings = readSettings(this.s.env)
    return { capPerDay: settings.tenantMaxCostPerDay, capPerMonth: settings.tenantMaxCostPerMonth }
  }

  private tenantCapped(): boolean {
    const caps = this.caps()
    return caps.capPerDay !== undefined || caps.capPerMonth !== undefined
  }

  /** The tenant's spend and what all its sessions' calls in flight are reserved for, with its caps. */
  private async tenantSpend(): Promise<TenantSpend | undefined> {
    if (!this.tenantCapped()) return undefined
    return { ...(await this.tenantIndex().spent()), ...this.caps() }
  }

  /**
   * Spend and reservations against every cap: the gateway's own count, or opencode's where it
   * knows more (prices). The session's own calls in flight count against its own caps; the
   * tenant's (`tenant.reserved`) are every session's.
   */
  private check(tenant: TenantSpend | undefined): BudgetCheck {
    const row = this.s.row()
    const flight = this.reservations.inFlight()
    const spent = { cost: Math.max(row.gw_cost, row.cost) + flight.cost, outputTokens: Math.max(row.gw_output_tokens, row.output_tokens) + flight.outputTokens }
    return checkBudget(this.s.limits(), spent, tenant)
  }

  /** Whether the session may go on spending, calls in flight counted. */
  async budget(): Promise<BudgetCheck> {
    return this.check(await this.tenantSpend())
  }

  /**
   * Adds what the session spent since it last said so to its tenant's day, releasing the
   * tenant's hold on the call `settled` names in the same step, so the call is never counted
   * twice nor, between the two, not at all. The spend is marked sent before it goes, so that
   * reports side by side send it once; one the tenant did not take is unmarked, to go with the
   * next report (or the alarm's).
   */
  async reportSpend(settled?: string) {
    const row = this.s.row()
    const delta = Math.max(0, Math.max(row.gw_cost, row.cost) - row.spend_reported)
    if (delta === 0 && !(settled && this.tenantCapped())) return
    this.s.update({ spend_reported: row.spend_reported + delta })
    await this.tenantIndex()
      .addSpend(delta, settled)
      .catch((err: unknown) => {
        this.s.update({ spend_reported: this.s.row().spend_reported - delta })
        log('warn', 'tenant spend update failed; kept to send again', { sessionId: row.id, err: errorMessage(err) })
      })
  }

  private noteExceeded(reason: string) {
    if (this.s.row().budget_exceeded || this.s.isOver()) return
    this.s.update({ budget_exceeded: reason })
    this.refused('budget_exceeded', reason)
  }

  private refused(code: 'budget_exceeded' | 'price_unknown', reason: string) {
    this.s.signals.emit(event('error', { code, message: reason }))
    if (code === 'budget_exceeded') this.s.signals.tellRun({ kind: 'session_failed', code, message: reason })
  }
}
