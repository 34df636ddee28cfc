import { AcpAgent } from '../../acp/agent'
import { openBridge } from '../../acp/bridge-stream'
import { AcpTranslator } from '../../events/acp-translate'
import { transcriptOf } from '../../events/transcript'
import { newId } from '../../lib/ids'
import type { SandboxRecord } from '../../sandbox/record'
import type { AgentMemory, PublicEvent } from '../../contracts'
import type { BridgeEnd } from '../../acp/bridge-stream'
import type { ConnectionParts } from './parts'

/** What the opencode connection is given, less its process watch (the bridge exits with its agent, and the provider sees it gone). */
export type AcpConnectionParts = Omit<ConnectionParts, 'agentExit'> & {
  /** the stream ended without our closing it: the sandbox's lifecycle finds out why */
  dropped(end: BridgeEnd): void
}

/**
 * How long a reattached stream waits for the prompt the last stream left running to end once
 * cancelled: what the agent says until then is that turn's, never the next prompt's.
 */
const CUT_PROMPT_END_MS = 5_000

type Bridge = Awaited<ReturnType<typeof openBridge>>

/**
 * The session's connection to an ACP agent (Claude Code, Codex) through the bridge in its
 * sandbox: the one JSON-RPC stream, the agent's session opened or loaded on it, and its updates
 * translated (../events/acp-translate.ts) into the events every runtime's clients read.
 */
export class AcpConnection {
  private bridge: Bridge | undefined
  private port: AcpAgent | undefined
  private readonly translator = new AcpTranslator(newId)

  constructor(private readonly p: AcpConnectionParts) {}

  get linked(): boolean {
    return this.bridge !== undefined
  }

  agent(): AcpAgent | undefined {
    return this.bridge ? this.port : undefined
  }

  /** A new sandbox's agent: a new ACP session, given the earlier conversation as a transcript when there was one. */
  async attach(record: SandboxRecord): Promise<AgentMemory | undefined> {
    return (await this.open(record, undefined)).memory
  }

  /**
   * A new stream to the agent after a gap: its session loaded again (`session/load`), requests it
   * asked on the old stream resolved as lost, and a turn it was running closed (ACP cannot say
   * whether a prompt of another stream goes on: it is answered on that stream only).
   */
  async reattach(record: SandboxRecord, agentRestarted: boolean): Promise<AgentMemory | undefined> {
    const { store, turns, status, human } = this.p
    const { memory, adopted } = await this.open(record, store.row.agent_session_id ?? undefined)
    await human.sync('lost')
    turns.adoptRunning()
    const turn = turns.currentMessageId
    if (turn) {
      // After a Worker restart the translator is new: it goes on with the reply clients saw opened.
      if (this.translator.answering !== turn) this.translator.resume(turn, this.p.events.openReply(turn))
      // The agent may still be working on the turn that ends here (the Worker restarted, not the
      // agent): it is cancelled, so that it neither goes on with it nor takes the next prompt into it.
      await this.port?.abort().catch(() => 0)
      if (adopted) await this.bridge?.otherStreamAnswered(CUT_PROMPT_END_MS)
      this.publish(this.translator.finish({ error: agentRestarted ? 'the agent stopped in the middle of this turn' : 'the connection to the agent was lost' }))
      turns.step(turn, agentRestarted ? { kind: 'agent_restarted' } : { kind: 'resynced', agentBusy: false })
    }
    if (!turns.running) status.report({ kind: 'no_turn' })
    turns.pump()
    return memory
  }

  close() {
    this.bridge?.close()
    this.bridge = undefined
    this.port = undefined
  }

  /**
   * Opens the agent's session: `known` loaded again, else a new one. A new one (a new sandbox, or
   * an agent whose own record went) starts without the conversation: its next prompt carries the
   * transcript of it (`transcript`), however often the stream is opened again before then. A
   * bridge whose agent opened `known` already (`adopted`) holds it still: it is not loaded again.
   */
  private async open(record: SandboxRecord, known: string | undefined): Promise<{ memory?: AgentMemory; adopted: boolean }> {
    const { store, turns } = this.p
    const bridge = await openBridge(record.endpoint, record.password, this.p.timings, (end) => {
      if (this.bridge !== bridge) return
      this.close()
      this.p.dropped(end)
    })
    try {
      const agent = new AcpAgent(
        bridge.stream,
        {
          update: (n) => {
            if (n.sessionId === agent.sessionId) this.publish(this.translator.translate(n.update))
          },
          permission: (request, id) => {
            // Nobody watches a run: its agent may edit and run commands, as opencode's UNATTENDED_PERMISSIONS allow.
            if (store.spec().runId !== undefined) return 'once'
            this.publish(this.translator.permission(request, id))
            return undefined
          },
          prompting: (messageId) => {
            this.translator.prompting(messageId)
            turns.step(messageId, { kind: 'agent_busy' })
          },
          context: () => {
            if (store.row.transcript_for !== agent.sessionId) return undefined
            store.update({ transcript_for: null })
            return this.transcript()
          },
          turnEnded: (stop) => {
            // The turn may have ended already (a restart, a lost sandbox): only the prompt still answered is closed.
            if (this.port !== agent) return
            const answering = this.translator.answering
            this.publish(this.translator.finish(stop))
            if (answering) turns.step(answering, { kind: 'agent_idle' })
          },
        },
        newId,
      )
      const adopted = known !== undefined && bridge.instance !== undefined && store.row.agent_instance === bridge.instance
      if (adopted) agent.adopt(known)
      else {
        const { sessionId, loaded } = await agent.start(record.workdir, known, store.spec())
        const owed = loaded ? {} : { transcript_for: this.transcript() === undefined ? null : sessionId }
        store.update({ agent_session_id: sessionId, agent_instance: bridge.instance ?? null, ...owed })
      }
      this.bridge = bridge
      this.port = agent
      return { memory: store.row.transcript_for === agent.sessionId ? 'transcript' : undefined, adopted }
    } catch (err) {
      bridge.close()
      throw err
    }
  }

  /** The earlier conversation, from the session's log; none before a turn was answered. */
  private transcript(): string | undefined {
    return transcriptOf(this.p.transcript.events(), this.p.transcript.maxBytes)
  }

  private publish(events: PublicEvent[]) {
    if (events.length > 0) this.p.events.publishTranslated(events)
  }
}
