import { errorMessage, log } from '../../lib/log'
import { runPauseAt, type E2BLimits } from '../../sandbox/e2b-limits'
import type { SandboxProvider } from '../../sandbox/provider'
import type { SandboxRecord } from '../../sandbox/record'
import type { SessionStore } from '../store/session-store'
import { sandboxTimeoutMs } from './rules'

/** When the sandbox must be paused before the plan's continuous-run limit ends it, if the plan has one. */
export function runPauseFor(limits: E2BLimits, record: SandboxRecord | undefined): number | undefined {
  const { maxRunMs } = limits
  return maxRunMs !== undefined && record?.runningSince !== undefined ? runPauseAt(record.runningSince, maxRunMs) : undefined
}

/** Keeps the provider from ending a sandbox the session still wants (E2B ends it at its timeout). */
export async function extendTimeout(p: { provider: SandboxProvider; store: SessionStore }, record: SandboxRecord, now: number, expiresAt: number) {
  const timeoutMs = sandboxTimeoutMs(now, expiresAt)
  try {
    await p.provider.keepAlive(record.sandboxId, timeoutMs)
  } catch (err) {
    // A sandbox that is gone shows when its agent stops answering; recovery handles it there.
    return log('warn', 'sandbox keepalive failed', { sessionId: p.store.maybe?.id, err: errorMessage(err) })
  }
  const current = p.store.sandbox()
  if (current?.sandboxId === record.sandboxId) p.store.saveSandbox({ ...current, deadline: now + timeoutMs })
}
