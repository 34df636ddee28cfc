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
