import type { SessionSpec } from '../contracts'
import { fail, ok, type Outcome } from '../lib/errors'
import { budgetNow } from '../sandbox/e2b-limits'
import type { SandboxProvider } from '../sandbox/provider'
import type { Settings } from '../config/settings'
import type { SessionUsage } from './usage/report'
import type { SessionStore } from './store/session-store'
import type { StatusPort } from './ports'
import type { Signals } from './signals'

export type Admitted = { id: string; tenant: string; title: string | null; spec: SessionSpec; secrets: string | null }

/**
 * A new session (created, or forked off another) counts against its tenant's limits (active
 * sessions, creations per minute) from here; one over them is not stored at all. Neither is one
 * the deployment's sandbox budget (E2B_MAX_SANDBOXES) has no room for: refused now, clearly,
 * rather than failed later by E2B.
 */
export async function admit(
  p: { settings: Settings; store: SessionStore; signals: Signals; status: StatusPort; usage: SessionUsage; provider: SandboxProvider },
  s: Admitted,
  tookWarm: () => Promise<boolean> = async () => false,
): Promise<Outcome<void>> {
  // A sandbox taken from the pool runs already: the provider's count is not asked (a round trip to it).
  const budget = await budgetNow(p.provider, p.settings.e2bLimits.maxSandboxes, false, tookWarm)
  if (!budget.ok) return fail('sandbox_unavailable', budget.reason)
  const now = new Date()
  const admission = await p.signals.tenantIndex(s.tenant).admit(
    { id: s.id, status: 'starting', title: s.title, createdAt: now.toISOString(), updatedAt: now.toISOString() },
    { maxActive: p.settings.maxActiveSessions, perMinute: p.settings.sessionCreatesPerMinute },
  )
  if (!admission.ok) return fail('too_many_requests', admission.reason)
  const expiresAt = new Date(now.getTime() + p.settings.idleSeconds * 1000)
  p.store.insert({ id: s.id, tenant: s.tenant, title: s.title, spec: s.spec, secrets: s.secrets, expiresAt }, now)
  p.usage.started(s.spec.runId)
  p.status.report({ kind: 'opened' })
  return ok(undefined)
}
