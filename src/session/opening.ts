import { event, type CreateSessionInput, type SessionSpec, type SessionView } from '../contracts'
import { fail, ok, type Outcome } from '../lib/errors'
import { admit } from './admission'
import type { SessionParts } from './compose'
import { describeFailure } from './failure'
import type { ForkInput } from './history/fork-copy'
import { lacks } from './runtime-features'
import { sealSecrets } from './store/secrets'

/**
 * How a session comes to be: created with its secrets sealed, or as the fork of another, its
 * sandbox copied. Either is admitted against its tenant's limits first (./admission).
 */
export async function openSession(p: SessionParts, secretsKey: string | undefined, input: CreateSessionInput): Promise<Outcome<void>> {
  const spec: SessionSpec = { ...input.spec, model: input.spec.model ?? p.settings.defaultModel }
  const opened = { env: input.secrets, repoToken: input.repoToken, modelKeys: input.modelKeys }
  const { admitted, warm } = await p.source.whileAdmitting(
    input.id,
    spec,
    opened,
    async (tookWarm) =>
      admit(p, { id: input.id, tenant: input.tenant, title: input.title ?? null, spec, secrets: await sealSecrets(secretsKey, opened) }, tookWarm),
    p.connection,
  )
  if (!admitted.ok) return admitted
  if (input.prompt) p.turns.enqueue({ text: input.prompt })
  // Admission listed the session with its tenant as it is now: nothing to sync before the start.
  p.lifecycle.ensureRunning()
  // A warm sandbox is ready as it is taken (its attach goes on after): the answer says `idle`, and
  // a client need not open the stream to learn it.
  if (warm) await p.lifecycle.untilReady()
  return ok(undefined)
}

/**
 * A fork of this session, at a message or at a checkpoint (the workspace of that checkpoint and
 * the conversation up to its turn), made by `create` in the new session's own object.
 */
export async function forkOf(
  p: SessionParts,
  id: string,
  from: { messageId?: string; checkpoint?: number },
  create: (input: ForkInput) => Promise<Outcome<SessionView>>,
): Promise<Outcome<SessionView>> {
  const refused = lacks(p.store.spec(), 'fork')
  if (refused) return refused
  // A paused sandbox is brought back to be copied; one being let go meanwhile is gone once this returns.
  await p.lifecycle.awake()
  // Without a sandbox (hibernated, or lost), a fork from a checkpoint needs none: it starts from the checkpoint alone.
  const alone = from.checkpoint !== undefined && !p.store.sandbox()
  const point = from.checkpoint === undefined ? undefined : await p.checkpoints.forkPoint(from.checkpoint, alone)
  if (point && !point.ok) return point
  const checkpoint = point?.value
  const messageId = checkpoint ? checkpoint.messageId : from.messageId
  return p.forks.copy(id, messageId, alone, (input) => create({ ...input, ...(checkpoint && { checkpoint }) }), () => p.turns.pump())
}

/** The new session of a fork takes over the copy its original handed over; a copy that fails fails it. */
export async function openFork(p: SessionParts, input: ForkInput): Promise<Outcome<void>> {
  const admitted = await admit(p, input)
  if (!admitted.ok) return admitted
  await p.signals.syncIndex()
  // No sandbox to copy: the fork starts from the checkpoint alone.
  const alone = input.sandboxId === undefined ? input.checkpoint : undefined
  try {
    await p.lifecycle.hold(async () => {
      if (alone) {
        // The first sandbox is made as any session's is, and restores the checkpoint kept here.
        await p.checkpoints.adoptFork(alone)
        p.forks.adoptHistory(input.history)
        return
      }
      await p.forks.adopt(input)
      // Nobody knows the fork's id before this returns: no message can start a turn on the copy before it holds the checkpoint.
      if (input.checkpoint) await p.checkpoints.takeFork(input.checkpoint, input.spec.repo !== undefined)
    })
  } catch (err) {
    await p.ending.fail(err)
    return fail('sandbox_unavailable', `the sandbox could not be ${alone ? 'started from the checkpoint' : 'copied'}: ${describeFailure(err).message}`)
  }
  if (alone) p.lifecycle.ensureRunning()
  return ok(undefined)
}

/** A new title: clients, the tenant's listing and the agent all hear of it. */
export async function retitle(p: SessionParts, title: string) {
  if (title === p.store.row.title) return
  p.agentEvents.knowTitle(title)
  p.store.update({ title })
  p.signals.emit(event('session.updated', { title }))
  await p.signals.syncIndex()
  await p.connection.agent()?.rename(title).catch(() => undefined)
}
