import { errorMessage } from '../../lib/log'
import { waitForOpencode } from '../../opencode/client'
import type { SandboxRecord } from '../../sandbox/record'
import type { AgentMemory } from '../../contracts'
import { openSecrets } from '../store/secrets'
import type { LifecycleParts } from './lifecycle-parts'
import type { Provisioning } from './provisioning'
import { startChecks } from './start-checks'
import type { Job } from './work-slot'

/** What bringing a sandbox up needs of the lifecycle whose work it is. */
export type BringUpHost = {
  /** the session ended, or the watchdog gave the job up */
  stopped(job: Job): boolean
  /** kills what the job brought, saying nothing */
  abandon(record: SandboxRecord): Promise<void>
  /** the session cannot go on: its sandbox could not be made */
  fail(err: unknown): Promise<void>
  /** the session was said to be ready (a create waiting to answer `idle` may answer now) */
  ready(): void
}

/**
 * A sandbox for the session, made or taken warm: its agent awaited, the last checkpoint put back,
 * the link opened; a warm one whose agent no longer answers is replaced by one made now.
 */
export async function provision(p: LifecycleParts, provisioning: Provisioning, host: BringUpHost, job: Job) {
  const { store, signals, status } = p
  const spec = store.spec()
  status.report({ kind: 'sandbox_starting' })
  signals.sandboxState('starting', 'provisioning')
  try {
    // No other work runs: a sandbox still recorded as being made was left by a restart.
    await provisioning.reap()
    const secrets = await openSecrets(p.secretsKey, store.row.secrets)
    const made = (sandboxId: string) => {
      provisioning.made(sandboxId)
      job.made.add(sandboxId)
      if (job.abandoned) void p.provider.kill(sandboxId).catch(() => {})
    }
    const { record, warm } = await p.source.sandboxFor(spec, secrets, made)
    let announced = false
    const announce = (brought: Brought) => {
      if (announced) return
      announced = true
      const memory = brought.memory && { memory: brought.memory }
      if (brought.checkpoint !== undefined) signals.sandboxState('ready', 'restored', { detail: `checkpoint ${brought.checkpoint}`, ...memory })
      else signals.sandboxState('ready', 'started', memory)
      // The idle clock starts once the session can take a message, not while its sandbox boots.
      signals.touch()
      status.report({ kind: 'agent_ready' })
      host.ready()
    }
    let brought: Brought | 'stopped'
    try {
      brought = await bringUp(p, host, job, record, warm, announce)
    } catch (err) {
      if (!warm || host.stopped(job)) throw err
      // The pool checked its agent when it pooled it; one that no longer answers is replaced by a sandbox made now.
      await host.abandon(record)
      signals.sandboxState('starting', 'warm_failed', { detail: errorMessage(err) })
      // Said ready already: starting again, and messages sent meanwhile wait in the queue for the replacement.
      if (announced) status.report({ kind: 'sandbox_starting' })
      announced = false
      brought = await bringUp(p, host, job, await p.source.create(spec, secrets, made), false, announce)
    }
    if (brought === 'stopped') return
    announce(brought)
    p.turns.pump()
  } catch (err) {
    if (!job.abandoned) await host.fail(err)
  } finally {
    provisioning.ended(job.made)
  }
}

/** What a new sandbox brought back: the checkpoint put on its workspace, and how its agent got the earlier conversation. */
type Brought = { checkpoint?: number; memory?: AgentMemory }

/**
 * The new sandbox becomes the session's and its agent is attached: a warm one's answered the
 * pool, and its link opened while the session was admitted (SandboxSource.whileAdmitting).
 * A warm one is announced ready before the attach: the pool keeps its agent verified, and a
 * message sent meanwhile waits in the queue until the attach is done (Turns.pump needs the agent).
 * 'stopped': the job stopped on the way, and what it brought is abandoned.
 */
async function bringUp(
  p: LifecycleParts,
  host: BringUpHost,
  job: Job,
  record: SandboxRecord,
  warm: boolean,
  announce: (brought: Brought) => void,
): Promise<Brought | 'stopped'> {
  const { store, connection } = p
  if (host.stopped(job)) return host.abandon(record).then(() => 'stopped' as const)
  store.saveSandbox(record)
  const checks = startChecks({ warm, agentSessionId: record.agentSessionId, title: store.row.title })
  if (checks.waitForAgent) await waitForOpencode(record.endpoint, record.password, { stopped: () => host.stopped(job) })
  if (host.stopped(job)) return host.abandon(record).then(() => 'stopped' as const)
  // A session that had a sandbox before: its last checkpoint goes onto this one, and its agent gets the conversation back.
  const restored = await p.checkpoints.restore(record, store.spec().repo !== undefined)
  if (host.stopped(job)) return host.abandon(record).then(() => 'stopped' as const)
  // Before the attach only opencode's own record is known to be back (a pooled sandbox runs opencode).
  if (checks.readyBeforeAttach) announce({ ...(restored && { checkpoint: restored.checkpoint }), ...(restored?.agentSessionId && { memory: 'imported' as const }) })
  const transcript = await connection.attach(record, restored?.agentSessionId ?? checks.knownAgentSession)
  if (host.stopped(job)) return host.abandon(record).then(() => 'stopped' as const)
  const memory = restored?.agentSessionId ? 'imported' : transcript
  return { ...(restored && { checkpoint: restored.checkpoint }), ...(memory && { memory }) }
}
