/**
 * Spend caps, decided apart from I/O: a session's own limits, and its tenant's daily cap.
 * A call is refused once a cap is reached; the call that crosses it is let through whole, since
 * a reply cut mid-stream helps nobody and costs the same.
 */

import type { Limits } from '../contracts'

export type Spent = { cost: number; outputTokens: number }

export type BudgetCheck = { ok: true } | { ok: false; reason: string }

export function checkBudget(limits: Limits | undefined, spent: Spent, tenant?: { spentToday: number; capPerDay: number }): BudgetCheck {
  if (limits?.maxCostUsd !== undefined && spent.cost >= limits.maxCostUsd) {
    return { ok: false, reason: `the session has spent $${spent.cost.toFixed(4)} of its $${limits.maxCostUsd} limit` }
  }
  if (limits?.maxOutputTokens !== undefined && spent.outputTokens >= limits.maxOutputTokens) {
    return { ok: false, reason: `the session has used ${spent.outputTokens} of its ${limits.maxOutputTokens} output tokens` }
  }
  if (tenant && tenant.spentToday >= tenant.capPerDay) {
    return { ok: false, reason: `the tenant has spent $${tenant.spentToday.toFixed(4)} of its $${tenant.capPerDay} daily limit` }
  }
  return { ok: true }
}
