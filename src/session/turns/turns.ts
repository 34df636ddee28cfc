import { addUsage, event, structuredOutcome, zeroUsage, type OutputSchema, type Usage } from '../../contracts'
import { fail, ok, type Outcome } from '../../lib/errors'
import { randomSecret } from '../../lib/ids'
import { errorMessage } from '../../lib/log'
import type { Reply, SendMessageInput, SendMessageResult } from '../../contracts'
import type { Conversation } from './conversation'
import { Neighbours } from '../../lib/neighbours'
import type { AgentSource, PromptInput, SessionSignals, StatusPort, TurnEnds, TurnWatcher } from '../ports'
import type { MessageQueue, QueuedMessage } from './queue'
import { acceptMessage, idleReason, turnOutcome, turnStep, type TurnError, type TurnInput } from './rules'

/** Messages waiting behind the running one; past this a send is refused with 429. */
export const MAX_QUEUED = 100

/** `steered`: it was stopped for a steered message, which runs next. */
/** `structured`: the answer to a prompt that asked for structured output, as opencode took it; `schema`: the message's own outputSchema. */
type Turn = {
  messageId: string
  pos: number
  seenBusy: boolean
  aborted: boolean
  steered: boolean
  reply?: Reply
  structured?: unknown
  schema?: OutputSchema
  usage: Usage
}

type Waiter = (outcome: Outcome<Reply>) => void


export type TurnParts = {
  queue: MessageQueue
  conversation: Conversation
  signals: SessionSignals
  status: StatusPort
  isOver(): boolean
  /** the model, agent and instructions a message runs with; later when its files must be put in the sandbox first */
  promptFor(message: QueuedMessage): PromptInput | Promise<PromptInput>
  /** after an abort opencode may have dropped requests it asked: the session checks */
  aborted(): void
}

/**
 * The session's turns: messages queue in order, run one at a time, and each turn ends exactly
 * once, answering whoever waits for its reply. How a turn moves is ./turn-rules; this wires it to
 * the queue, the agent and the session's signals.
 */
export class Turns {
  private turn: Turn | undefined
  private readonly waiters = new Map<string, Waiter[]>()

  /**
   * `hold`: while the workspace is copied for a fork or saved in a checkpoint, no turn may start;
   * `ends`: who hears that a turn ended, with what it answered and used
   */
  readonly neighbours = new Neighbours<{ agents: AgentSource; events: TurnWatcher; hold: { readonly held: boolean }; ends: TurnEnds }>()

  constructor(private readonly p: TurnParts) {}

  private held(): boolean {
    return this.neighbours.of.hold.held
  }

  get running(): boolean {
    return this.turn !== undefined
  }

  enqueue(input: SendMessageInput): Outcome<SendMessageResult> {
    const { queue, conversation, signals } = this.p
    if (input.idempotencyKey) {
      const seen = queue.byIdempotencyKey(input.idempotencyKey)
      if (seen) return ok({ messageId: seen.id, queued: seen.state === 'queued', duplicate: true })
    }
    if (queue.waiting() >= MAX_QUEUED) return fail('too_many_requests', `the session already has ${MAX_QUEUED} messages waiting`)
    const id = `msg_${randomSecret(10)}`
    const now = new Date().toISOString()
    const pos = queue.add(id, input, now)
    // The conversation and events name the files; their bytes stay in the queue until the agent has them.
    const attachments = input.attachments?.files ?? []
    // A steered message is listed where it runs: before the messages that were waiting.
    const ahead = input.mode === 'steer' ? queue.waitingUnsteered(id) : []
    conversation.addUser(id, conversation.placeBefore(ahead, pos), input.text, now, attachments)
    const { queued, stopTurn } = acceptMessage(input.mode, { idle: this.p.status.current === 'idle' && !this.held(), turn: this.turn })
    const placed = { ...(attachments.length && { attachments }), ...(ahead[0] && { before: ahead[0] }) }
    signals.emit(event('message.created', { messageId: id, role: 'user', text: input.text, ...placed }))
    signals.emit(event('message.completed', { messageId: id, role: 'user', text: input.text }))
    signals.touch()
    if (stopTurn) void this.abort(false, 'steered')
    this.pump()
    return ok({ messageId: id, queued, duplicate: false })
  }

  /** Drops every waiting message, answering whoever waits for one. */
  dropQueued(reason: string): number {
    const dropped = this.p.queue.dropWaiting()
    for (const id of dropped) this.settle(id, fail('conflict', reason))
    return dropped.length
  }

  /** Sends the next queued message when the agent is free; one turn at a time, in order. */
  pump() {
    if (this.p.status.current !== 'idle' || this.turn || this.held()) return
    const agent = this.neighbours.of.agents.agent()
    if (!agent) return
    const next = this.p.queue.next()
    if (!next) return
    this.p.queue.setState(next.id, 'running')
    this.start(next, false)
    this.neighbours.of.events.prompting(next.id)
    this.p.status.report({ kind: 'turn_started' })
    // A message without files goes at once, in this turn of the event loop, as it always has.
    const input = this.p.promptFor(next)
    ;(input instanceof Promise ? input.then((i) => agent.prompt(i)) : agent.prompt(input))
      .then((status) => {
        if (status >= 400) this.step(next.id, { kind: 'prompt_refused', message: `opencode refused the message (${status})` })
      })
      .catch((err: unknown) => this.step(next.id, { kind: 'prompt_refused', message: `could not reach opencode: ${errorMessage(err)}` }))
  }

  /** A message opencode was working on when the session lost sight of it is its running turn again. */
  adoptRunning() {
    const running = this.p.queue.running()
    if (running && !this.turn) this.start(running, true)
  }

  /**
   * What the session learned moves the running turn (or the one for `messageId`): see
   * ./turn-rules. Answers whether the turn ended.
   */
  step(messageId: string | undefined, input: TurnInput): boolean {
    const turn = this.turn
    if (!turn || (messageId !== undefined && turn.messageId !== messageId)) return false
    const next = turnStep({ seenBusy: turn.seenBusy, aborted: turn.aborted, hasReply: turn.reply !== undefined }, input)
    turn.seenBusy = next.seenBusy
    if (!next.end) return false
    this.end(turn, next.end.error)
    return true
  }

  /** The running turn's message, if any. */
  get currentMessageId(): string | undefined {
    return this.turn?.messageId
  }

  /** An assistant message completed: it counts toward the turn it answers, and its text (or structured answer) is the reply. */
  assistantCompleted(parentId: string | undefined, messageId: string, text: string, usage: Usage, structured?: unknown) {
    const turn = this.turn
    if (!turn || parentId !== turn.messageId) return
    turn.usage = addUsage(turn.usage, usage)
    if (text) turn.reply = { messageId, text, usage }
    if (structured !== undefined) turn.structured = structured
  }

  /** Asks the agent to stop the running turn; when it cannot be told, the turn ends here. */
  async abort(clearQueue: boolean, why: 'aborted' | 'steered' = 'aborted'): Promise<{ aborted: boolean; dropped: number }> {
    const dropped = clearQueue ? this.dropQueued('the queue was cleared by an abort') : 0
    const turn = this.turn
    if (!turn) return { aborted: false, dropped }
    turn.aborted = true
    turn.steered = why === 'steered'
    const status = await this.neighbours.of.agents
      .agent()
      ?.abort()
      .catch(() => undefined)
    if (status === undefined || status >= 400) this.step(turn.messageId, { kind: 'abort_unheard' })
    return { aborted: true, dropped }
  }

  /** The reply to a message: at once when its turn is over, else when it ends or `waitMs` passes. */
  waitForReply(messageId: string, waitMs: number): Promise<Outcome<Reply>> {
    const settled = this.p.queue.outcomeOf(messageId) as Outcome<Reply> | undefined
    if (settled) return Promise.resolve(settled)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.set(messageId, (this.waiters.get(messageId) ?? []).filter((w) => w !== done))
        resolve(fail('timeout', `no reply within ${Math.round(waitMs / 1000)} s; the turn goes on`, { messageId }))
      }, waitMs)
      const done: Waiter = (outcome) => {
        clearTimeout(timer)
        resolve(outcome)
      }
      this.waiters.set(messageId, [...(this.waiters.get(messageId) ?? []), done])
    })
  }

  private start(message: QueuedMessage, seenBusy: boolean) {
    const schema = message.output_schema ? (JSON.parse(message.output_schema) as OutputSchema) : undefined
    this.turn = { messageId: message.id, pos: message.pos, seenBusy, aborted: false, steered: false, schema, usage: zeroUsage() }
  }

  /** Closes the turn: records its outcome, answers whoever waits, and moves the queue on. */
  private end(turn: Turn, ended: TurnError | undefined) {
    if (ended?.code === 'interrupted') this.neighbours.of.events.interruptOpen(ended)
    // A message's own outputSchema is checked as a run's is; a turn cut short has no answer to check.
    const checked = turn.schema && !turn.aborted && !ended ? structuredOutcome(turn.schema, turn.structured) : {}
    const error = ended ?? checked.error
    this.turn = undefined
    const outcome = turnOutcome(turn.aborted, error)
    this.p.queue.setState(turn.messageId, outcome.state)
    if (error) this.p.signals.emit(event('error', { code: error.code, message: error.message }))
    // The reply is the turn's last answer with text; its usage is the whole turn's.
    const reply: Reply = {
      ...(turn.reply ?? { messageId: null, text: '' }),
      usage: turn.usage,
      ...(checked.structured !== undefined && { structured: checked.structured }),
    }
    this.neighbours.of.ends.ended(turn.messageId, reply, turn.structured)
    this.settle(turn.messageId, outcome.failure ? fail(outcome.failure, error?.message ?? 'the turn failed') : ok(reply))
    if (this.p.isOver()) return
    // The agent's work counts as activity: a long turn's reply is not paused away the moment it ends.
    this.p.signals.touch()
    this.p.status.report({ kind: 'turn_ended', reason: idleReason(turn) })
    if (turn.aborted) this.p.aborted()
    this.pump()
  }

  /** A message's turn is over: the outcome is kept for a repeated send and given to whoever waits. */
  private settle(messageId: string, outcome: Outcome<Reply>) {
    this.p.queue.setOutcome(messageId, outcome)
    this.p.queue.forgetFiles(messageId)
    for (const w of this.waiters.get(messageId) ?? []) w(outcome)
    this.waiters.delete(messageId)
  }
}
