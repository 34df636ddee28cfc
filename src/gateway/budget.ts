/**
 * Spend caps, decided apart from I/O: a session's own limits, and its tenant's daily and monthly
 * caps. `spent` includes what calls in flight are reserved for (see spend.ts), so a call is
 * refused once spend and reservations reach a cap; the call that crosses it is let through
 * whole, since a reply cut mid-stream helps nobody and costs the same.
 */

import type { Limits } from '../contracts'

export type Spent = { cost: number; outputTokens: number }

/**
 * A tenant's spend this UTC day and month, with the deployment's caps on them. `reserved` is what
 * the calls in flight of all its sessions are granted against (its index keeps them): it counts
 * against the caps, not as spent.
 */
export type TenantSpend = { today: number; month: number; reserved?: number; capPerDay?: number; capPerMonth?: number }

export type BudgetCheck = { ok: true } | { ok: false; reason: string }

export function checkBudget(limits: Limits | undefined, spent: Spent, tenant?: TenantSpend): BudgetCheck {
  if (limits?.maxCostUsd !== undefined && spent.cost >= limits.maxCostUsd) {
    return { ok: false, reason: `the session has spent $${spent.cost.toFixed(4)} of its $${limits.maxCostUsd} limit` }
  }
  if (limits?.maxOutputTokens !== undefined && spent.outputTokens >= limits.maxOutputTokens) {
    return { ok: false, reason: `the session has used ${spent.outputTokens} of its ${limits.maxOutputTokens} output tokens` }
  }
  const reserved = tenant?.reserved ?? 0
  if (tenant?.capPerDay !== undefined && tenant.today + reserved >= tenant.capPerDay) {
    return { ok: false, reason: `the tenant has spent $${tenant.today.toFixed(4)} of its $${tenant.capPerDay} daily limit${inFlight(reserved)}` }
  }
  if (tenant?.capPerMonth !== undefined && tenant.month + reserved >= tenant.capPerMonth) {
    return { ok: false, reason: `the tenant has spent $${tenant.month.toFixed(4)} of its $${tenant.capPerMonth} monthly limit${inFlight(reserved)}` }
  }
  return { ok: true }
}

const inFlight = (reserved: number) => (reserved > 0 ? `, and $${reserved.toFixed(4)} is reserved by calls in flight` : '')

/** A tenant's spend checked against its caps alone: what its index decides before it reserves a call. */
export const checkTenant = (tenant: TenantSpend): BudgetCheck => checkBudget(undefined, { cost: 0, outputTokens: 0 }, tenant)

/** Whether any cost cap holds a session: then a call to a model of no known price cannot be let through. */
export function costCapped(limits: Limits | undefined, caps: { capPerDay?: number; capPerMonth?: number }): boolean {
  return limits?.maxCostUsd !== undefined || caps.capPerDay !== undefined || caps.capPerMonth !== undefined
}

/** The share of a cost cap at which a session is warned, once. */
export const WARN_AT = 0.8

export type BudgetWarning = { message: string; spentUsd: number; limitUsd: number }

/** The first cost cap `spent` has reached WARN_AT of, if any: the session's, then the tenant's day, then its month. */
export function budgetWarning(limits: Limits | undefined, spentCost: number, tenant?: TenantSpend): BudgetWarning | undefined {
  const caps: [string, number, number | undefined][] = [
    ['the session’s limit', spentCost, limits?.maxCostUsd],
    ['the tenant’s daily limit', tenant?.today ?? 0, tenant?.capPerDay],
    ['the tenant’s monthly limit', tenant?.month ?? 0, tenant?.capPerMonth],
  ]
  for (const [name, spent, limit] of caps) {
    if (limit !== undefined && spent >= WARN_AT * limit) {
      return { message: `$${spent.toFixed(4)} of ${name} of $${limit} is spent (${Math.floor((spent / limit) * 100)}%)`, spentUsd: spent, limitUsd: limit }
    }
  }
  return undefined
}
