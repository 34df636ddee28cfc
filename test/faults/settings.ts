/**
 * The settings of the faults files that share them (faults, clients, worker-restart, recovery, random-deletes,
 * attachments-restart, deadlines): identical, so that they can share one stack. TIMINGS shortens
 * the bounds these files check; each stays above what a healthy stack needs on a busy machine:
 * opencode's heartbeat comes every 10 s, so silence counts only after 15 s.
 */
export const TIMINGS = {
  /** the periodic alarm: a vanished sandbox nobody follows is noticed within two of these */
  wakeMs: 2_000,
  silenceMs: 15_000,
  agentCallMs: 8_000,
  sandboxCallMs: 8_000,
}

/** A recovery that hangs past every call's deadline is abandoned after this (docs/operations.md: RECOVERY_TIMEOUT_SECONDS). */
export const RECOVERY_TIMEOUT_SECONDS = 40

export const FAULTS_SETTINGS: Record<string, string> = {
  TIMINGS: JSON.stringify(TIMINGS),
  RECOVERY_TIMEOUT_SECONDS: String(RECOVERY_TIMEOUT_SECONDS),
}

/** How each shares the stack's options too: the relay in front of each opencode, and the host's fault switches. */
export const FAULTS_OPTIONS = { faultInjection: true } as const
