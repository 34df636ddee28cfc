import { treeMemory } from './lib/procs'
import { isIdle, readEvents } from './lib/sse'
import { call, endSession, type BenchStack } from './lib/stack'
import { now, quantile } from './lib/stats'

export const RUNTIME_SAMPLES = 3
const RUNTIMES = ['opencode', 'claude-code', 'codex'] as const

/** A runtime's cold start and what its sandbox's processes hold once it is ready, medians of RUNTIME_SAMPLES sessions. */
export type RuntimeStart = { runtime: string; samples: number; startMs: number; rssBytes: number; processes: number }

/** The agent's process (opencode, or the ACP bridge) of a session's sandbox, as the local sandbox host lists it. */
async function agentPid(stack: BenchStack, sessionId: string): Promise<number> {
  const res = await fetch(`${stack.sandboxHostUrl}/sandboxes`, { headers: { authorization: `Bearer ${stack.sandboxHostToken}` } })
  const listing = (await res.json()) as { metadata: Record<string, string>; opencodePid?: number }[]
  const pid = listing.find((s) => s.metadata.sessionId === sessionId)?.opencodePid
  if (pid === undefined) throw new Error(`no agent process for ${sessionId}`)
  return pid
}

/**
 * Each runtime's sessions started one after another on a cold stack (no warm pool: the ACP
 * runtimes have none): POST to the first `session.status` idle, then the resident memory of the
 * sandbox's agent and every process it started (opencode; the bridge, the ACP adapter and the
 * agent it runs).
 */
export async function runtimesBenchmark(stack: BenchStack): Promise<RuntimeStart[]> {
  const out: RuntimeStart[] = []
  for (const runtime of RUNTIMES) {
    const starts: number[] = []
    const memory: { processes: number; rssBytes: number }[] = []
    for (let i = 0; i < RUNTIME_SAMPLES; i++) {
      const t = now()
      const { id } = await call(stack, '/v1/sessions', { runtime })
      try {
        await readEvents(stack.url, id as string, { after: 0, done: isIdle, keep: () => false, timeoutMs: 180_000 })
        starts.push(now() - t)
        memory.push(treeMemory(await agentPid(stack, id as string)))
      } finally {
        await endSession(stack, id as string)
      }
    }
    out.push({
      runtime,
      samples: RUNTIME_SAMPLES,
      startMs: quantile(starts, 0.5),
      rssBytes: quantile(memory.map((m) => m.rssBytes), 0.5),
      processes: quantile(memory.map((m) => m.processes), 0.5),
    })
  }
  return out
}
