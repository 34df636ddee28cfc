import { sleep } from '../../lib/sleep'
import { waitForOpencode } from '../../opencode/client'
import { SandboxError, type SandboxProvider } from '../../sandbox/provider'
import type { SandboxRecord } from '../../sandbox/record'
import type { SandboxProbe } from './rules'

/** How often a restart's wait asks the provider whether the sandbox is still there. */
const GONE_POLL_MS = 1_000

/**
 * Where a sandbox's agent stands after a gap. `exit`: how the agent process exited, when its
 * sandbox said so before opencode's health route answered.
 */
export async function probeAgent(
  p: { provider: SandboxProvider; connection: { exited(): Promise<string> } },
  record: SandboxRecord,
): Promise<SandboxProbe & { exit?: string }> {
  const health = waitForOpencode(record.endpoint, record.password, { timeoutMs: 2_000 }).then(
    () => ({ agentHealthy: true }),
    () => ({ agentHealthy: false }),
  )
  // An exit the sandbox reported needs no wait for a health route that will not answer.
  const first: { agentHealthy: boolean; exit?: string } = await Promise.race([health, p.connection.exited().then((exit) => ({ agentHealthy: false, exit }))])
  if (first.agentHealthy) return { agentHealthy: true, sandbox: 'running' }
  const sandbox = await p.provider.status(record.sandboxId).catch(() => 'unknown' as const)
  return { agentHealthy: false, sandbox, ...(first.exit !== undefined && { exit: first.exit }) }
}

/** Rejects once the provider says the sandbox is gone; polls until stopped. */
export function watchGone(provider: SandboxProvider, sandboxId: string): { lost: Promise<never>; readonly gone: boolean; stop(): void } {
  let stopped = false
  let gone = false
  const lost = (async (): Promise<never> => {
    while (!stopped) {
      await sleep(GONE_POLL_MS)
      if (stopped) break
      if ((await provider.status(sandboxId).catch(() => undefined)) === 'gone') {
        gone = true
        throw new SandboxError('not_found', 'the sandbox went while its agent was being restarted')
      }
    }
    return new Promise<never>(() => {})
  })()
  lost.catch(() => {})
  return {
    lost,
    get gone() {
      return gone
    },
    stop: () => void (stopped = true),
  }
}
