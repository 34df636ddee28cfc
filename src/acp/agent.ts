import {
  ClientSideConnection,
  PROTOCOL_VERSION,
  type Client,
  type PermissionOptionKind,
  type RequestPermissionRequest,
  type RequestPermissionResponse,
  type SessionNotification,
  type StopReason,
  type Stream,
} from '@agentclientprotocol/sdk'
import { fileUrl } from '../lib/file-url'
import { acpMcpServers } from './mcp-servers'
import type { SessionSpec } from '../contracts'
import type { AgentPort, HumanAnswer, PermissionReply, PromptInput } from '../session/ports'

/** What the agent says, for the session to translate and act on. */
export type AcpHooks = {
  update(notification: SessionNotification): void
  /**
   * The agent waits on a human: `permissionId` is what the answer names. A reply returned answers
   * it at once (nobody watches a run), and nothing waits.
   */
  permission(request: RequestPermissionRequest, permissionId: string): PermissionReply | undefined
  /** a prompt is sent for this (public) message */
  prompting(messageId: string): void
  /** what goes before the next prompt's message, if anything: the earlier conversation, for an agent that started without it */
  context(): string | undefined
  /** the prompt ended: how, or the error it failed with */
  turnEnded(stop: StopReason | { error: string }): void
}

/** Authentication methods that read a key from the agent's environment (codex-acp's). */
const ENV_AUTH_METHODS = ['codex-api-key', 'openai-api-key']

/** Which of the agent's options a human's reply picks. */
const OPTION_KIND: Record<PermissionReply, PermissionOptionKind[]> = {
  once: ['allow_once', 'allow_always'],
  always: ['allow_always', 'allow_once'],
  reject: ['reject_once', 'reject_always'],
}

/** An option the agent offered for `reply`; undefined when it offered none of that kind. */
export function optionFor(request: RequestPermissionRequest, reply: PermissionReply): string | undefined {
  for (const kind of OPTION_KIND[reply]) {
    const option = request.options.find((o) => o.kind === kind)
    if (option) return option.optionId
  }
  return undefined
}

/**
 * One ACP agent session in a sandbox, through the SDK's client side of the protocol: the calls a
 * session's turns and human requests make, answered as HTTP statuses as opencode's adapter does.
 * A prompt returns at once; its end (ACP answers `session/prompt` when the turn is over) reaches
 * the session through `turnEnded`. The client's file system is not offered to the agent: it works
 * on the sandbox's own disk with its own tools.
 */
export class AcpAgent implements AgentPort {
  private readonly connection: ClientSideConnection
  private readonly waiting = new Map<string, { request: RequestPermissionRequest; resolve(r: RequestPermissionResponse): void }>()
  sessionId = ''
  /** `session/cancel` was sent for the running prompt */
  private cancelled = false

  constructor(
    stream: Stream,
    private readonly hooks: AcpHooks,
    private readonly newId: (prefix: string) => string,
  ) {
    this.connection = new ClientSideConnection(() => this.client(), stream)
  }

  /**
   * Initializes the protocol and opens the agent's session: `known` again with `session/load`
   * when the agent can (its conversation comes back after a restart), else a new one; with the
   * session's MCP servers either way, and its instructions appended to Claude Code's system prompt.
   */
  async start(cwd: string, known: string | undefined, spec: Pick<SessionSpec, 'instructions' | 'mcp'>): Promise<{ sessionId: string; loaded: boolean }> {
    const init = await this.connection.initialize({ protocolVersion: PROTOCOL_VERSION, clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false } })
    // An agent that asks for a key first (Codex) takes the one its environment holds: the gateway token.
    const fromEnv = init.authMethods?.find((m) => ENV_AUTH_METHODS.includes(m.id))
    if (fromEnv) await this.connection.authenticate({ methodId: fromEnv.id })
    const meta = spec.instructions ? { systemPrompt: { append: spec.instructions } } : undefined
    const mcpServers = acpMcpServers(spec.mcp, init.agentCapabilities?.mcpCapabilities?.http === true)
    if (known && init.agentCapabilities?.loadSession) {
      // An agent that no longer has the session on disk (a replaced home) starts a new one: the session goes on without its memory.
      const loaded = await this.connection.loadSession({ sessionId: known, cwd, mcpServers, ...(meta && { _meta: meta }) }).then(
        () => true,
        () => false,
      )
      if (loaded) {
        this.sessionId = known
        return { sessionId: known, loaded: true }
      }
    }
    const created = await this.connection.newSession({ cwd, mcpServers, ...(meta && { _meta: meta }) })
    this.sessionId = created.sessionId
    return { sessionId: created.sessionId, loaded: false }
  }

  /**
   * The session the agent still holds from an earlier stream to the same bridge (the Worker
   * restarted, the agent did not): it is spoken to as it is, neither initialized nor loaded again.
   */
  adopt(sessionId: string) {
    this.sessionId = sessionId
  }

  async prompt(input: PromptInput): Promise<number> {
    this.hooks.prompting(input.messageId)
    this.cancelled = false
    // A message's files lie in the sandbox already: each goes as a link to its path (ACP's baseline content), which the agent reads there.
    const files = (input.files ?? []).map((f) => ({ type: 'resource_link' as const, uri: fileUrl(f.path), name: f.filename, mimeType: f.mime }))
    // A block of its own before the message, which every ACP agent takes (text is baseline content).
    const context = this.hooks.context()
    const blocks = [...(context ? [{ type: 'text' as const, text: context }] : []), { type: 'text' as const, text: input.text }, ...files]
    this.connection.prompt({ sessionId: this.sessionId, prompt: blocks }).then(
      // Codex may answer a cancelled prompt `end_turn`: the turn we cancelled ended cancelled.
      (res) => this.hooks.turnEnded(this.cancelled ? 'cancelled' : res.stopReason),
      (err: unknown) => this.hooks.turnEnded({ error: err instanceof Error ? err.message : JSON.stringify(err) }),
    )
    return 200
  }

  /** `session/cancel`; the agent's open permission requests are answered cancelled, as ACP asks of a client. */
  async abort(): Promise<number> {
    this.cancelled = true
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id)
      w.resolve({ outcome: { outcome: 'cancelled' } })
    }
    await this.connection.cancel({ sessionId: this.sessionId })
    return 200
  }

  async answer(a: HumanAnswer): Promise<number> {
    if (a.kind !== 'permission') return 400
    const w = this.waiting.get(a.id)
    if (!w) return 404
    this.waiting.delete(a.id)
    const optionId = optionFor(w.request, a.reply)
    w.resolve(optionId ? { outcome: { outcome: 'selected', optionId } } : { outcome: { outcome: 'cancelled' } })
    return 200
  }

  /** ACP cannot list what an agent waits on: none after a reconnect (a new connection's agent asks again). */
  async openRequests() {
    return { permission: [], question: [] }
  }

  /** ACP sessions have no title to set. */
  async rename(): Promise<number> {
    return 200
  }

  private client(): Client {
    return {
      requestPermission: (request) =>
        new Promise<RequestPermissionResponse>((resolve) => {
          const id = this.newId('per')
          this.waiting.set(id, { request, resolve })
          const reply = this.hooks.permission(request, id)
          if (reply) void this.answer({ kind: 'permission', id, reply })
        }),
      sessionUpdate: async (notification) => this.hooks.update(notification),
      // Not offered in `initialize`: the agent reads and writes the sandbox's disk itself.
      readTextFile: async () => {
        throw new Error('fs is not offered by this client')
      },
      writeTextFile: async () => {
        throw new Error('fs is not offered by this client')
      },
    }
  }
}
