/**
 * What a new sandbox's start still asks its agent before the session is idle. A warm sandbox's
 * agent answered the pool, which also made its opencode session: asking again costs round trips
 * a warm start is meant not to wait for, and the event subscription that opens anyway proves the
 * agent still answers. A sandbox made for the session has an agent that may not be up yet.
 */
export type StartChecks = {
  /** poll the agent's health until it answers */
  waitForAgent: boolean
  /** the opencode session to follow as it is, or undefined: look it up (or make one) and set its title */
  knownAgentSession: string | undefined
  /**
   * say the session is ready before the attach (the agent session's lookup, the event stream's
   * opening): a pool keeps its agents verified, and a message sent meanwhile waits for the attach
   */
  readyBeforeAttach: boolean
}

export function startChecks(s: { warm: boolean; agentSessionId?: string; title: string | null }): StartChecks {
  return {
    waitForAgent: !s.warm,
    // A title is set on the agent's session with the same one call that finds it; without one there is nothing to ask.
    knownAgentSession: s.warm && s.agentSessionId && !s.title ? s.agentSessionId : undefined,
    readyBeforeAttach: s.warm,
  }
}
