import { z } from '@hono/zod-openapi'

/**
 * The closed vocabularies events carry: the step a `sandbox.status` is at, and the code of an
 * `error` (and of a message's `error`). Clients switch on these; the words for people are in
 * `detail` and `message`.
 */

export const SandboxState = z.enum(['starting', 'ready', 'lost', 'restarting', 'paused', 'stopped'])
export type SandboxState = z.infer<typeof SandboxState>

/** The steps by which each sandbox state is reached; a new sandbox goes through creating to starting_agent in order, skipping those it does not need. */
export const SANDBOX_STEPS = {
  // a sandbox is asked for, then made; or found another way (warm, snapshot, resuming, copying for a fork), or a way given up or tried again
  starting: ['provisioning', 'creating', 'cloning', 'updating', 'writing_files', 'setup', 'saving_snapshot', 'starting_agent', 'warm', 'warm_failed', 'snapshot', 'snapshot_too_old', 'snapshot_failed', 'retrying', 'resuming', 'copying', 'restoring'],
  // restored: a new sandbox with the session's last checkpoint applied and the agent's memory back (detail: which checkpoint)
  ready: ['started', 'resumed', 'agent_restarted', 'forked', 'restored'],
  lost: ['gone', 'resume_failed', 'unrecoverable', 'timed_out'],
  // the agent in a live sandbox had stopped answering
  restarting: ['agent_stopped'],
  paused: ['idle', 'run_limit'],
  // hibernated: a paused sandbox past its retention was let go; the session stays, its work in a checkpoint, for the next message to restore
  stopped: ['ended', 'failed', 'hibernated'],
} as const satisfies Record<SandboxState, readonly string[]>

/**
 * How a new agent (a new sandbox's, or one restarted without its data) got the earlier
 * conversation back: opencode `imported` its own record from the last checkpoint; an agent that
 * cannot import one (Claude Code, Codex) is given a `transcript` of it from the session's log with
 * the next message (docs/checkpoints.md).
 */
export const AgentMemory = z.enum(['imported', 'transcript'])
export type AgentMemory = z.infer<typeof AgentMemory>

export type StepOf<S extends SandboxState> = (typeof SANDBOX_STEPS)[S][number]

const { starting, ready, lost, restarting, paused, stopped } = SANDBOX_STEPS
export const SandboxStep = z
  .enum([...starting, ...ready, ...lost, ...restarting, ...paused, ...stopped])
  .openapi('SandboxStep', { description: `By state: ${listed(SANDBOX_STEPS)}` })

export type SandboxStep = z.infer<typeof SandboxStep>

/** The words `reason` had for a step whose name is not them, before `step` and `detail` came. */
const FIXED_REASON: Partial<Record<SandboxStep, string | undefined>> = {
  provisioning: undefined,
  started: undefined,
  restored: undefined,
  snapshot_too_old: 'snapshot too old: making a new one',
  copying: 'copying the sandbox',
  agent_restarted: 'agent restarted',
  run_limit: 'run limit',
  ended: 'session ended',
  failed: 'session failed',
}

const DETAILED_REASON: Partial<Record<SandboxStep, (detail: string) => string>> = {
  snapshot: (detail) => `snapshot (${detail})`,
  warm_failed: (detail) => `starting without the warm sandbox: ${detail}`,
  snapshot_failed: (detail) => `starting without the snapshot: ${detail}`,
  retrying: (detail) => `retrying after: ${detail}`,
}

/** Steps whose detail was the whole of `reason`. */
const DETAIL_ONLY = new Set<SandboxStep>(['agent_stopped', 'gone', 'resume_failed', 'unrecoverable', 'timed_out'])

/** `sandbox.status`'s deprecated `reason`, word for word as clients read it before `step`. */
export function legacyReason(step: SandboxStep, detail?: string): string | undefined {
  if (step in FIXED_REASON) return FIXED_REASON[step]
  if (DETAIL_ONLY.has(step)) return detail
  const detailed = DETAILED_REASON[step]
  return detailed ? detailed(detail ?? '') : step
}

/** By what raised them. */
const ERROR_CODES = {
  // opencode's own error, by name
  agent: ['agent_error', 'aborted', 'api', 'provider_auth', 'context_overflow', 'content_filter', 'message_output_length', 'structured_output', 'unknown'],
  // a turn that ended without its answer
  turn: ['agent_unreachable', 'interrupted', 'conflict', 'structured_output_failed'],
  // a model call the gateway refused
  gateway: ['budget_exceeded', 'price_unknown'],
  sandbox: ['sandbox_timeout', 'sandbox_pause_failed'],
  // a checkpoint over CHECKPOINT_MAX_BYTES (the one before kept), one that could not be saved (the one before kept, the next turn's end tries again),
  // one that could not be put back on a new sandbox, or one that does not open (SECRETS_KEY rotated, or its stored data damaged)
  checkpoint: ['checkpoint_too_large', 'checkpoint_save_failed', 'checkpoint_restore_failed', 'checkpoint_unreadable'],
  // why the session failed
  session: ['clone_failed', 'setup_failed', 'sandbox_failed', 'sandbox_not_found', 'sandbox_unauthorized', 'sandbox_unavailable', 'sandbox_rate_limited', 'sandbox_too_large', 'bad_configuration', 'internal_error'],
} as const

export const EventErrorCode = z
  .enum([...ERROR_CODES.agent, ...ERROR_CODES.turn, ...ERROR_CODES.gateway, ...ERROR_CODES.sandbox, ...ERROR_CODES.checkpoint, ...ERROR_CODES.session])
  .openapi('EventErrorCode', { description: `By what raised it: ${listed(ERROR_CODES)}` })

export type EventErrorCode = z.infer<typeof EventErrorCode>

function listed(groups: Record<string, readonly string[]>): string {
  return Object.entries(groups)
    .map(([group, names]) => `${group}: ${names.join(', ')}`)
    .join('; ')
}
