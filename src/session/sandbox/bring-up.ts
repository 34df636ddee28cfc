import { errorMessage } from '../../lib/log'
import { waitForOpencode } from '../../opencode/client'
import type { SandboxRecord } from '../../sandbox/record'
import type { Restored } from '../checkpoints/checkpoints'
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
    const announce = (restored: Restored | undefined) => {
      if (announced) return
      announced = true
      if (restored) signals.sandboxState('ready', 'restored', { detail: `checkpoint ${restored.checkpoint}` })
      else signals.sandboxState('ready', 'started')
      // The idle clock starts once the session can take a message, not while its sandbox boots.
      signals.touch()
      status.report({ kind: 'agent_ready' })
      host.ready()
    }
    let restored: Restored | undefined | 'stopped'
    try {
      restored = await bringUp(p, host, job, record, warm, announce)
    } catch (err) {
      if (!warm || host.stopped(job)) throw err
      // The pool checked its agent when it pooled it; one that no longer answers is replaced by a sandbox made now.
      await host.abandon(record)
      signals.sandboxState('starting', 'warm_failed', { detail: errorMessage(err) })
      // Said ready already: starting again, and messages sent meanwhile wait in the queue for the replacement.
      if (announced) status.report({ kind: 'sandbox_starting' })
      announced = false
      restored = await bringUp(p, host, job, await p.source.create(spec, secrets, made), false, announce)
    }
    if (restored === 'stopped') return
    announce(restored)
    p.turns.pump()
  } catch (err) {
    if (!job.abandoned) await host.fail(err)
  } finally {
    provisioning.ended(job.made)
  }
}

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
  announce: (restored: Restored | undefined) => void,
): Promise<Restored | undefined | 'stopped'> {
  const { store, connection } = p
  if (host.stopped(job)) return host.abandon(record).then(() => 'stopped' as const)
  store.saveSandbox(record)
  const checks = startChecks({ warm, agentSessionId: record.agentSessionId, title: store.row.title })
  if (checks.waitForAgent) await waitForOpencode(record.endpoint, record.password, { stopped: () => host.stopped(job) })
  if (host.stopped(job)) return host.abandon(record).then(() => 'stopped' as const)
  // A session that had a sandbox before: its last checkpoint goes onto this one, and its agent gets the conversation back.
  const restored = await p.checkpoints.restore(record, store.spec().repo !== undefined)
  if (host.stopped(job)) return host.abandon(record).then(() => 'stopped' as const)
  if (checks.readyBeforeAttach) announce(restored)
  await connection.attach(record, restored?.agentSessionId ?? checks.knownAgentSession)
  if (host.stopped(job)) return host.abandon(record).then(() => 'stopped' as const)
  return restored
}
