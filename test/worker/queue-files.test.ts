import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { Conversation } from '../../src/session/conversation'
import { migrate } from '../../src/session/schema'
import { ATTACHMENT_CHUNK_BYTES, MessageQueue } from '../../src/session/queue'
import { Turns, type TurnParts } from '../../src/session/turns'
import { RecordedSignals, ScriptedAgent } from './session-fakes'

/**
 * A message's files in the session's own SQLite, and steered messages, inside workerd: files
 * larger than a row may hold come back whole from a new queue over the same storage (a restarted
 * session object), and are gone once their turn is over.
 */

function turnsOver(sql: SqlStorage, agent: ScriptedAgent, signals: RecordedSignals) {
  migrate(sql)
  const queue = new MessageQueue(sql)
  const parts: TurnParts = {
    queue,
    conversation: new Conversation(sql),
    signals,
    status: () => signals.status,
    isOver: () => false,
    held: () => false,
    agent: () => agent,
    promptFor: (m) => ({ messageId: m.id, text: m.text, files: queue.files(m.id) }),
    prompting: () => {},
    interrupted: () => {},
    ended: () => {},
    aborted: () => {},
  }
  return { queue, turns: new Turns(parts), conversation: parts.conversation }
}

/** Compared by hand: a deep equality over megabytes takes the test's whole time. */
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && a.every((v, i) => v === b[i])

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251)

describe("a message's files", () => {
  it('are kept in pieces under the row limit, come back whole after a restart, and go when the turn ends', async () => {
    await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName('queue-files')), async (_instance, state) => {
      const sql = state.storage.sql
      const signals = new RecordedSignals()
      signals.status = 'starting'
      const big = bytesOf(2 * ATTACHMENT_CHUNK_BYTES + 123, 1)
      const small = bytesOf(10, 2)
      const first = turnsOver(sql, new ScriptedAgent(), signals)
      const sent = first.turns.enqueue({
        text: 'look',
        attachments: [
          { filename: 'big.png', mime: 'image/png', bytes: big },
          { filename: 'notes.txt', mime: 'text/plain', bytes: small },
        ],
      })
      const id = sent.ok ? sent.value.messageId : ''
      const rows = sql.exec<{ n: number; largest: number }>('SELECT COUNT(*) AS n, MAX(LENGTH(data)) AS largest FROM attachments').one()
      expect(rows).toEqual({ n: 4, largest: ATTACHMENT_CHUNK_BYTES })
      expect(signals.of('message.created')).toEqual([
        {
          messageId: id,
          role: 'user',
          text: 'look',
          attachments: [
            { filename: 'big.png', mime: 'image/png', size: big.byteLength },
            { filename: 'notes.txt', mime: 'text/plain', size: 10 },
          ],
        },
      ])

      // The session object restarts before the sandbox is ready: a new queue over the same storage sends the message.
      const agent = new ScriptedAgent()
      const second = turnsOver(sql, agent, signals)
      signals.status = 'idle'
      second.turns.pump()
      const files = agent.prompts[0]!.files!
      expect(files.map((f) => [f.filename, f.mime, f.bytes.byteLength])).toEqual([
        ['big.png', 'image/png', big.byteLength],
        ['notes.txt', 'text/plain', 10],
      ])
      expect(sameBytes(files[0]!.bytes, big)).toBe(true)
      expect(sameBytes(files[1]!.bytes, small)).toBe(true)

      second.turns.step(undefined, { kind: 'agent_busy' })
      second.turns.step(undefined, { kind: 'agent_idle' })
      expect(second.queue.files(id)).toEqual([])
      expect(sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM attachments').one().n).toBe(0)
      expect(second.conversation.list()[0]).toMatchObject({
        id,
        attachments: [
          { filename: 'big.png', mime: 'image/png', size: big.byteLength },
          { filename: 'notes.txt', mime: 'text/plain', size: 10 },
        ],
      })
    })
  })
})

describe('a steered message', () => {
  it('stops the running turn and runs before the messages queued ahead of it', async () => {
    await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName('steering')), async (_instance, state) => {
      const signals = new RecordedSignals()
      const agent = new ScriptedAgent()
      const { turns } = turnsOver(state.storage.sql, agent, signals)
      turns.enqueue({ text: 'one' })
      turns.enqueue({ text: 'two' })
      const steer = turns.enqueue({ text: 'three', mode: 'steer' })
      expect(steer.ok && steer.value.queued).toBe(true)
      expect(agent.aborts).toBe(1)
      // A second steer while the first abort is on its way stops nothing more, and runs after the first.
      turns.enqueue({ text: 'four', mode: 'steer' })
      expect(agent.aborts).toBe(1)
      turns.step(undefined, { kind: 'agent_busy' })
      turns.step(undefined, { kind: 'agent_idle' })
      expect(signals.of('session.status')).toContainEqual({ status: 'idle', reason: 'steered' })
      expect(agent.prompts.map((p) => p.text)).toEqual(['one', 'three'])
      turns.step(undefined, { kind: 'agent_busy' })
      turns.step(undefined, { kind: 'agent_idle' })
      turns.step(undefined, { kind: 'agent_busy' })
      turns.step(undefined, { kind: 'agent_idle' })
      expect(agent.prompts.map((p) => p.text)).toEqual(['one', 'three', 'four', 'two'])
    })
  })
})
