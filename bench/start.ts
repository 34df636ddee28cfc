import { modelProviderConfig } from '../local/model-server'
import { agentClient, waitForOpencode } from '../src/opencode/client'
import { LocalSandboxProvider } from '../src/sandbox/local'
import { isIdle, readEvents } from './lib/sse'
import { call, endSession, type BenchStack } from './lib/stack'
import { now, quantile, sleep } from './lib/stats'

export const START_SAMPLES = 5

export type StartResult = {
  warmPoolSize: string
  samples: number
  p50: number
  p95: number
  /** sessions whose sandbox came from the warm pool (`sandbox.status` starting, reason `warm`) */
  fromPool: number
}

/** What GET /health says of the warm pool, if it says anything. */
async function poolReady(stack: BenchStack): Promise<number | undefined> {
  const health = (await (await fetch(`${stack.url}/health`)).json()) as { warmPool?: { ready: number } }
  return health.warmPool?.ready
}

/** Before a warm sample: wait (up to a minute) for the pool to hold a ready sandbox again, if the stack has a pool at all. */
async function waitForPool(stack: BenchStack) {
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const ready = await poolReady(stack)
    if (ready === undefined || ready >= 1) return
    await sleep(200)
  }
}

/**
 * Session start: POST /v1/sessions to its first `session.status` idle, one session after
 * another, each ended before the next. The row shows the stack's WARM_POOL_SIZE.
 */
export async function startBenchmark(stack: BenchStack, samples = START_SAMPLES): Promise<StartResult> {
  const warmPoolSize = stack.settings.WARM_POOL_SIZE ?? '(unset)'
  const warm = Number(warmPoolSize) > 0
  const times: number[] = []
  let fromPool = 0
  for (let i = 0; i < samples; i++) {
    if (warm) await waitForPool(stack)
    const t0 = now()
    const { id } = await call(stack, '/v1/sessions', {})
    const events = await readEvents(stack.url, id as string, {
      after: 0,
      done: isIdle,
      keep: (e) => e.event === 'sandbox.status',
      timeoutMs: 180_000,
    })
    times.push(events.at(-1)!.at - t0)
    if (events.some((e) => e.data.reason === 'warm')) fromPool++
    await endSession(stack, id as string)
  }
  return { warmPoolSize, samples, p50: quantile(times, 0.5), p95: quantile(times, 0.95), fromPool }
}

export type BootResult = { samples: number; p50: number; p95: number }

/**
 * opencode's own boot, without the Worker: straight through the local sandbox host, a sandbox
 * made, a baseline commit, `opencode serve` started with a session's configuration, its health
 * answered and its first session created. What a cold session start cannot do without.
 */
export async function opencodeBootBenchmark(stack: BenchStack, samples = START_SAMPLES): Promise<BootResult> {
  const provider = new LocalSandboxProvider(stack.sandboxHostUrl, stack.sandboxHostToken)
  const password = 'bench-password'
  const envs = {
    OPENCODE_SERVER_PASSWORD: password,
    OPENCODE_CONFIG_CONTENT: JSON.stringify(modelProviderConfig(stack.model!.url, stack.modelKey)),
    OPENCODE_ENABLE_QUESTION_TOOL: '1',
  }
  const times: number[] = []
  for (let i = 0; i < samples; i++) {
    const t0 = now()
    const sb = await provider.create({ envs, metadata: { bench: 'boot' } })
    try {
      await provider.exec(sb.sandboxId, 'git init -q && git -c user.name=b -c user.email=b@b commit -q --allow-empty -m base', { cwd: sb.workdir })
      const endpoint = await provider.startOpencode(sb.sandboxId, { cwd: sb.workdir })
      await waitForOpencode(endpoint, password)
      const created = await agentClient(endpoint, password, sb.workdir).session.create({})
      if (!created.data) throw new Error('opencode did not create a session')
      times.push(now() - t0)
    } finally {
      await provider.kill(sb.sandboxId)
    }
  }
  return { samples, p50: quantile(times, 0.5), p95: quantile(times, 0.95) }
}
