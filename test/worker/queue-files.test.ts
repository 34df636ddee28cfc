import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { Conversation } from '../../src/session/turns/conversation'
import { migrate } from '../../src/session/store/schema'
import { ATTACHMENT_CHUNK_BYTES, MessageQueue } from '../../src/session/turns/queue'
import type { TurnParts } from '../../src/session/turns/turns'
import { joinedTurns, RecordedSignals, ScriptedAgent } from './session-fakes'

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
    status: signals,
    isOver: () => false,
    promptFor: (m) => ({ messageId: m.id, text: m.text, files: queue.files(m.id).map((f) => ({ ...f, path: `/files/${f.file}` })) }),
    aborted: () => {},
  }
  return { queue, turns: joinedTurns(parts, agent), conversation: parts.conversation }
}

/** Compared by hand: a deep equality over megabytes takes the test's whole time. */
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && a.every((v, i) => v === b[i])

const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251)

/** A file's bytes as the session streams them into a sandbox. */
const streamed = async (queue: MessageQueue, id: string, file: number) => new Uint8Array(await new Response(queue.fileBytes(id, file)).arrayBuffer())

/** Stages `bytes` as the Worker does while a body streams in: in pieces of at most ATTACHMENT_CHUNK_BYTES. */
function stage(queue: MessageQueue, upload: string, file: number, bytes: Uint8Array) {
  for (let chunk = 0; chunk * ATTACHMENT_CHUNK_BYTES < bytes.byteLength; chunk++) {
    queue.stage(upload, file, chunk, bytes.subarray(chunk * ATTACHMENT_CHUNK_BYTES, (chunk + 1) * ATTACHMENT_CHUNK_BYTES))
  }
}

describe("a message's files", () => {
  it('are staged in pieces under the row limit, taken by their message, streamed back whole after a restart, and go when the turn ends', async () => {
    await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName('queue-files')), async (_instance, state) => {
      const sql = state.storage.sql
      const signals = new RecordedSignals()
      signals.status = 'starting'
      const big = bytesOf(2 * ATTACHMENT_CHUNK_BYTES + 123, 1)
      const small = bytesOf(10, 2)
      const first = turnsOver(sql, new ScriptedAgent(), signals)
      const upload = `upl_${Date.now()}_a`
      stage(first.queue, upload, 0, big)
      stage(first.queue, upload, 1, small)
      // An upload abandoned an hour ago goes when the next one starts; one still arriving stays.
      first.queue.stage(`upl_${Date.now() - 2 * 3600_000}_old`, 3, 0, small)
      first.queue.stage(`upl_${Date.now()}_other`, 0, 0, small)
      expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM attachments WHERE message_id LIKE '%old'`).one().n).toBe(0)
      const files = [
        { filename: 'big.png', mime: 'image/png' as const, size: big.byteLength },
        { filename: 'notes.txt', mime: 'text/plain' as const, size: 10 },
      ]
      const sent = first.turns.enqueue({ text: 'look', attachments: { upload, files } })
      const id = sent.ok ? sent.value.messageId : ''
      const rows = sql.exec<{ n: number; largest: number }>('SELECT COUNT(*) AS n, MAX(LENGTH(data)) AS largest FROM attachments WHERE message_id = ?', id).one()
      expect(rows).toEqual({ n: 4, largest: ATTACHMENT_CHUNK_BYTES })
      expect(signals.of('message.created')).toEqual([{ messageId: id, role: 'user', text: 'look', attachments: files }])
      first.queue.dropUpload(upload)
      expect(first.queue.files(id).map((f) => f.size)).toEqual([big.byteLength, 10])

      // The session object restarts before the sandbox is ready: a new queue over the same storage sends the message.
      const agent = new ScriptedAgent()
      const second = turnsOver(sql, agent, signals)
      signals.status = 'idle'
      second.turns.pump()
      await new Promise((r) => setTimeout(r, 0))
      expect(agent.prompts[0]!.files!.map((f) => [f.filename, f.mime])).toEqual([
        ['big.png', 'image/png'],
        ['notes.txt', 'text/plain'],
      ])
      expect(sameBytes(await streamed(second.queue, id, 0), big)).toBe(true)
      expect(sameBytes(await streamed(second.queue, id, 1), small)).toBe(true)

      second.turns.step(undefined, { kind: 'agent_busy' })
      second.turns.step(undefined, { kind: 'agent_idle' })
      expect(second.queue.files(id)).toEqual([])
      expect(sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM attachments WHERE message_id = ?', id).one().n).toBe(0)
      expect(second.conversation.list()[0]).toMatchObject({ id, attachments: files })
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
