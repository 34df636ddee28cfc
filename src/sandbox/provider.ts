import type { Runtime } from '../contracts'

/**
 * The seam between a session and wherever its sandbox runs. Both adapters (a local process
 * host for development, E2B in production) offer the same few operations, shaped after what
 * E2B itself does: make a sandbox with environment, run a command in it, serve opencode from
 * it, and destroy it.
 */
export type SandboxEndpoint = {
  /** Where opencode answers; a secret, like the headers. */
  url: string
  /** Extra headers every request needs (E2B's traffic token); never logged or returned. */
  headers: Record<string, string>
}

export type CreateSandboxInput = {
  /**
   * Environment for the sandbox's commands and opencode; secrets go here, never on a command line.
   * Kept where the provider's own records and copies do not hold it: on E2B an owner-only file in
   * the home that each command and opencode's start read, never the create-time environment envd
   * keeps in memory for every process (and a fork or a snapshot would copy). Empty: none yet
   * (a sandbox whose whole disk may be snapshotted; see WorkspaceSnapshots).
   */
  envs: Record<string, string>
  metadata: Record<string, string>
  /** start with this workspace snapshot's files in the workspace (see WorkspaceSnapshots) */
  snapshotId?: string
  /**
   * Told the new sandbox's id the moment the provider has made it, before anything else is done
   * with it: the caller records it at once, so a restart while the create finishes leaves no
   * sandbox nobody knows of.
   */
  created?: (sandboxId: string) => void
}

/**
 * Copies of a prepared workspace (cloned, set up, before opencode and before anything of a
 * session's own reaches it), for later sessions on the same repository to start from. Never
 * memory, never the environment. `holds` says what a copy takes: the workspace's files only
 * (local), or the sandbox's whole disk, home included (E2B); then a sandbox that may be copied is
 * created without its environment (`envs` empty), and gets it with `giveEnv` once the copy is
 * taken (see sessionThingsLate). A provider without it takes none.
 */
export type WorkspaceSnapshots = {
  take(sandboxId: string): Promise<{ snapshotId: string; sizeBytes: number }>
  /** A snapshot that is gone already counts as deleted. */
  delete(snapshotId: string): Promise<void>
} & ({ holds: 'workspace' } | { holds: 'disk'; giveEnv(sandboxId: string, envs: Record<string, string>): Promise<void> })

/** `workdir` is where the repository and the agent work; `home` is the sandbox user's home. */
export type CreatedSandbox = { sandboxId: string; workdir: string; home: string }

export type SandboxFile = { path: string; content: string }

export type SandboxFileContent = { type: 'text' | 'binary'; content: string }

export type ExecResult = { exitCode: number; stdout: string; stderr: string }

export type TerminalSize = { cols: number; rows: number }

/** What a terminal's shell says: its output as it comes, and its end (null when the provider cannot tell the exit code). */
export type TerminalListener = {
  output(bytes: Uint8Array): void
  exit(exitCode: number | null): void
}

/** A shell on a pseudo-terminal in the sandbox, held open until closed or its shell exits. */
export interface SandboxTerminal {
  write(bytes: Uint8Array): Promise<void>
  resize(size: TerminalSize): Promise<void>
  /** ends the shell and everything it started; `exit` is not called for a close */
  close(): Promise<void>
}

export interface SandboxProvider {
  readonly kind: 'local' | 'e2b'
  readonly snapshots?: WorkspaceSnapshots
  create(input: CreateSandboxInput): Promise<CreatedSandbox>
  /**
   * A new sandbox whose workspace and home (the agent's record of its conversations with them)
   * are a copy of `sandboxId`'s (on E2B at the same paths; locally opencode's records are moved to
   * the copy's), under the new environment `input.envs` only:
   * no process of the original (opencode, or anything it or the setup left running) goes on in
   * the copy with its credentials, and the copy's own environment replaces the original's before
   * anything of it starts; `startOpencode` then starts opencode afresh.
   */
  fork(sandboxId: string, input: CreateSandboxInput): Promise<CreatedSandbox>
  exec(sandboxId: string, command: string, opts?: { cwd?: string; timeoutMs?: number }): Promise<ExecResult>
  /**
   * Reads a file (absolute path); text as is, anything else base64 (see file-content.ts).
   * Throws SandboxError not_found, or too_large past MAX_FILE_BYTES.
   */
  readFile(sandboxId: string, path: string): Promise<SandboxFileContent>
  /** Writes text files (absolute paths), creating their folders. */
  writeFiles(sandboxId: string, files: SandboxFile[]): Promise<void>
  /** Writes one file (absolute path) from a stream of its bytes, creating its folders; the bytes are never held whole. */
  writeStream(sandboxId: string, path: string, body: ReadableStream<Uint8Array>): Promise<void>
  /**
   * Starts the session's agent server in the sandbox (if it is not already running) and says where
   * it listens: `opencode serve`, or for another runtime the ACP bridge (agents/acp-bridge.mjs)
   * around that agent. The name is opencode's, which every sandbox ran before runtimes.
   */
  startOpencode(sandboxId: string, opts: { cwd: string; runtime?: Runtime }): Promise<SandboxEndpoint>
  /**
   * Resolves when the sandbox's opencode process exits (at once when none runs), with what ended
   * it in words: the session hears of a crash from the process itself, not from the silence of
   * its stream. Rejects when it cannot watch; `signal` stops the watch.
   */
  agentExit(sandboxId: string, signal: AbortSignal): Promise<string>
  /** Whether the sandbox is there and its opencode process alive; throws SandboxError when it cannot tell. */
  status(sandboxId: string): Promise<SandboxStatus>
  /**
   * Stops the sandbox where it stands, memory and disk kept, so that an idle session costs
   * nothing but storage. Throws SandboxError not_found when it is gone.
   */
  pause(sandboxId: string): Promise<void>
  /** Brings a paused sandbox back (a running one is left as it is) for at least `timeoutMs`. */
  resume(sandboxId: string, timeoutMs: number): Promise<void>
  /** The sandbox is still wanted: the provider must not end it for `timeoutMs` from now. */
  keepAlive(sandboxId: string, timeoutMs: number): Promise<void>
  kill(sandboxId: string): Promise<void>
  /**
   * A login shell on a pseudo-terminal in `cwd`, as the sandbox's user, with the user's own
   * environment: not the session's secrets, opencode's password or the gateway token, which only
   * the agent's commands are given.
   */
  openTerminal(sandboxId: string, opts: { cwd: string; size: TerminalSize }, listener: TerminalListener): Promise<SandboxTerminal>
  /**
   * The TCP ports the sandbox's own processes listen on, ascending: never its agent's, its
   * provider's, nor (locally, where sandboxes share the machine's network) another sandbox's or
   * the machine's. With `differentFrom`, waits until the ports differ from those (or
   * PORT_WATCH_WAIT_MS pass) and answers then; `signal` gives up the wait.
   */
  listeningPorts(sandboxId: string, opts?: { differentFrom?: number[]; signal?: AbortSignal }): Promise<number[]>
  /** Where the Worker reaches `port` of the sandbox, for a preview: a secret, as the agent's endpoint is. */
  portEndpoint(sandboxId: string, port: number): Promise<SandboxEndpoint>
  /** How many sandboxes run now across the account, every deployment's and pool's (E2B: for E2B_MAX_SANDBOXES). */
  running?(): Promise<number>
}

/** Where the ACP bridge lies in an E2B sandbox (the template copies it there) and each agent's command there. */
export const BRIDGE_PATH = '/opt/agents/acp-bridge.mjs'
export const ACP_COMMANDS: Record<Exclude<Runtime, 'opencode'>, string> = {
  'claude-code': 'claude-code-acp',
  codex: 'codex-acp',
}

export type SandboxStatus = 'running' | 'agent_exited' | 'paused' | 'gone'

/** `rate_limited`: the provider refused for now because calls came too fast (E2B's 429), nothing was done. */
export type SandboxErrorCode = 'not_found' | 'unauthorized' | 'unavailable' | 'rate_limited' | 'failed' | 'too_large'

export class SandboxError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'SandboxError'
  }
  /** Worth trying again: the provider could not be reached, or asked us to slow down; not a refusal. */
  get transient(): boolean {
    return this.code === 'unavailable' || this.code === 'rate_limited'
  }
}

/** Quotes a value for a POSIX shell command line. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}
