/**
 * One JSON line per log entry. Callers pass only ids and states: URLs, passwords and keys
 * never reach a log line, so nothing here needs to redact.
 */
export function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}) {
  const line = JSON.stringify({ level, msg, ...fields })
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Enough of a tenant id (`t_<hex>`) to tell tenants apart in logs, not the whole id. */
export const tenantPrefix = (tenant: string): string => tenant.replace(/^t_/, '').slice(0, 8)

/** What an operator's event line may carry: ids and states, never text a user or the agent wrote. */
export type EventFields = {
  requestId?: string
  tenant?: string
  sessionId?: string
  runId?: string
  [field: string]: string | number | boolean | undefined
}

/**
 * A line an operator can filter on: `event` is a short name (`session.status`, `request.error`),
 * the tenant shows as its prefix.
 */
export function logEvent(event: string, { tenant, ...fields }: EventFields, level: 'info' | 'warn' | 'error' = 'info') {
  log(level, event, { event, ...(tenant && { tenant: tenantPrefix(tenant) }), ...fields })
}

/** A request's id for logs: Cloudflare's ray id when it looks like one, else a fresh one. */
export function requestIdFrom(cfRay: string | undefined): string {
  return cfRay && /^[\w-]{1,64}$/.test(cfRay) ? cfRay : crypto.randomUUID()
}
