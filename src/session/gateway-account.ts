import { tenantStub } from '../durable-objects'
import type { Bindings } from '../env'
import type { Limits } from '../contracts'
import { checkBudget, type BudgetCheck } from '../gateway/budget'
import { costOf, type Metered } from '../gateway/meter'
import { deploymentRoutes, routeFor, type GatewayGrant } from '../gateway/routes'
import { fail, ok, type Outcome } from '../lib/errors'
import { errorMessage, log } from '../lib/log'
import { readSettings } from '../settings'
import { openSecrets } from './secrets'
import type { SessionRow } from './session-store'

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
>

/** The session around the account: its row, its limits, whether it is over, and how it tells. */
export type AccountPorts = {
  env: Bindings
  row(): SpendRow
  update(fields: Partial<SpendRow>): void
  limits(): Limits | undefined
  isOver(): boolean
  /** clients (and a run) learn once that the budget is spent */
  budgetExceeded(reason: string): void
}

/**
 * A session's account with the model gateway: which calls its sandbox may make, with which key,
 * what they used, and what the session and its tenant have spent against their caps.
 */
export class GatewayAccount {
  constructor(private readonly s: AccountPorts) {}

  private tenantIndex() {
    return tenantStub(this.s.env, this.s.row().tenant)
  }

  async grant(digest: string, provider: string): Promise<Outcome<GatewayGrant>> {
    const row = this.s.row()
    if (!row.gateway_digest || row.gateway_digest !== digest || this.s.isOver()) return fail('unauthorized', 'not a valid gateway token')
    const route = routeFor(deploymentRoutes(readSettings(this.s.env)), provider)
    if (!route) return fail('not_found', `this deployment has no model provider "${provider}"`)
    const budget = await this.budget()
    if (!budget.ok) {
      this.noteExceeded(budget.reason)
      return fail('budget_exceeded', budget.reason)
    }
    if (row.budget_exceeded) this.s.update({ budget_exceeded: null })
    const ownKeys = (await openSecrets(this.s.env.SECRETS_KEY, row.secrets)).modelKeys ?? {}
    return ok({ route, key: ownKeys[provider] ?? route.key })
  }

  async report(provider: string, metered: Metered) {
    const row = this.s.row()
    const route = routeFor(deploymentRoutes(readSettings(this.s.env)), provider)
    const cost = costOf(metered, metered.model ? route?.prices[metered.model] : undefined)
    this.s.update({
      gw_input_tokens: row.gw_input_tokens + metered.inputTokens,
      gw_output_tokens: row.gw_output_tokens + metered.outputTokens,
      gw_cost: row.gw_cost + cost,
    })
    await this.reportSpend()
    const budget = await this.budget()
    if (!budget.ok) this.noteExceeded(budget.reason)
  }

  /** What the session has spent: the gateway's own count, or opencode's where it knows more (prices). */
  async budget(): Promise<BudgetCheck> {
    const row = this.s.row()
    const cap = readSettings(this.s.env).tenantMaxCostPerDay
    const tenant = cap === undefined ? undefined : { spentToday: await this.tenantIndex().spentToday(), capPerDay: cap }
    const spent = { cost: Math.max(row.gw_cost, row.cost), outputTokens: Math.max(row.gw_output_tokens, row.output_tokens) }
    return checkBudget(this.s.limits(), spent, tenant)
  }

  /** Adds what the session spent since it last said so to its tenant's day. */
  async reportSpend() {
    const row = this.s.row()
    const delta = Math.max(row.gw_cost, row.cost) - row.spend_reported
    if (delta <= 0) return
    this.s.update({ spend_reported: row.spend_reported + delta })
    await this.tenantIndex()
      .addSpend(delta)
      .catch((err: unknown) => log('warn', 'tenant spend update failed', { sessionId: row.id, err: errorMessage(err) }))
  }

  private noteExceeded(reason: string) {
    if (this.s.row().budget_exceeded || this.s.isOver()) return
    this.s.update({ budget_exceeded: reason })
    this.s.budgetExceeded(reason)
  }
}
