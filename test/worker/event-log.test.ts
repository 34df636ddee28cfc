import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { event, zeroUsage } from '../../src/contracts'
import { EventLog } from '../../src/session/log/event-log'
import { MAX_LOG_BYTES } from '../../src/events/log-bound'
import { REPLAY_PAGE_BYTES } from '../../src/events/replay-page'
import { Fanout, MAX_PENDING_BYTES, MAX_PENDING_FRAMES, MAX_RAW_FRAME_BYTES, MAX_STREAMS } from '../../src/session/log/fanout'

/** Inside workerd, on a real SQLite-backed Durable Object: the log and fan-out every session relies on. */

const stub = (name: string) => env.SESSIONS.get(env.SESSIONS.idFromName(name))

/** The log and fan-out wired as a session wires them: stored events go out to clients. */
function logWithFanout(storage: DurableObjectStorage, windowMs?: number) {
  const log = new EventLog(storage, () => 'ses_x', undefined, windowMs)
  const fanout = new Fanout(log)
  log.publishTo(fanout)
  return { log, fanout }
}

/** A stream of the fan-out, which must have had room for it. */
function open(fanout: Fanout, after = 0, raw = false): ReadableStream<Uint8Array> {
  const opened = fanout.subscribe(after, { raw })
  if (!opened) throw new Error('the fan-out refused a stream')
  return opened.stream
}

/** Reads a stream to its end: 'closed' when it ended, 'errored' when it was cut. */
async function readToEnd(stream: ReadableStream<Uint8Array>): Promise<{ end: 'closed' | 'errored'; text: string }> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let text = ''
  for (;;) {
    try {
      const { value, done } = await reader.read()
      if (value) text += decoder.decode(value, { stream: true })
      if (done) return { end: 'closed', text }
    } catch {
      return { end: 'errored', text }
    }
  }
}

/** The first `count` SSE frames of a stream, as they were written. */
async function framesOf(stream: ReadableStream<Uint8Array>, count: number): Promise<string[]> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let text = ''
  for (;;) {
    const frames = text.split('\n\n').slice(0, -1)
    if (frames.length >= count) {
      await reader.cancel()
      return frames.slice(0, count)
    }
    const { value, done } = await reader.read()
    if (done) throw new Error(`the stream ended after ${frames.length} frames`)
    text += decoder.decode(value, { stream: true })
  }
}

async function readFrames(stream: ReadableStream<Uint8Array>, until: (ids: number[]) => boolean): Promise<number[]> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let text = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (value) text += decoder.decode(value, { stream: true })
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    if (done || until(ids)) {
      reader.releaseLock()
      return ids
    }
  }
}

describe('the event log', () => {
  it('numbers events from 1 without gaps and pages them in order', async () => {
    await runInDurableObject(stub('log-numbering'), async (_instance, state) => {
      const log = new EventLog(state.storage, () => 'ses_x')
      // Deltas of different parts: each is an event of its own.
      for (let i = 0; i < 25; i++) log.append(event('message.delta', { messageId: 'm', partId: `p${i}`, kind: 'text', text: `${i}` }))
      expect(log.lastSeq).toBe(25)
      expect(log.after(0, 10).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(log.after(20, 10).map((e) => e.seq)).toEqual([21, 22, 23, 24, 25])
      expect(JSON.parse(log.after(24, 1)[0]!.data)).toMatchObject({ sessionId: 'ses_x', text: '24', at: expect.any(String) })
      // A new log over the same storage (a restarted object) continues the sequence.
      expect(new EventLog(state.storage, () => 'ses_x').append(event('error', { code: 'internal_error', message: 'y' }))).toBe(26)
    })
  })

  it('finds the reply a restarted session saw opened for a message and not completed, with the text streamed into it', async () => {
    await runInDurableObject(stub('log-open-reply'), async (_instance, state) => {
      const log = new EventLog(state.storage, () => 'ses_x')
      log.append(event('message.created', { messageId: 'm1', role: 'assistant', parentId: 'u1' }))
      log.append(event('message.delta', { messageId: 'm1', partId: 'r', kind: 'reasoning', text: 'thinking' }))
      log.append(event('message.delta', { messageId: 'm1', partId: 't', kind: 'text', text: 'Hel' }))
      log.append(event('message.delta', { messageId: 'm1', partId: 't2', kind: 'text', text: 'lo' }))
      expect(log.openReply('u1', 1_000)).toEqual({ messageId: 'm1', text: 'Hello' })
      expect(log.openReply('u2', 1_000)).toBeUndefined()
      log.append(event('message.completed', { messageId: 'm1', role: 'assistant', parentId: 'u1', text: 'Hello', usage: zeroUsage() }))
      expect(log.openReply('u1', 1_000)).toBeUndefined()
    })
  })

  it('stores the deltas of one part appended in one turn as one event, and replays it as it went out', async () => {
    await runInDurableObject(stub('log-coalescing'), async (_instance, state) => {
      const { log, fanout } = logWithFanout(state.storage)
      const live = open(fanout)
      const delta = (partId: string, text: string) => event('message.delta', { messageId: 'm', partId, kind: 'text', text })
      expect([log.append(delta('a', 'one ')), log.append(delta('a', 'two ')), log.append(delta('b', 'x')), log.append(delta('a', 'three'))]).toEqual([1, 1, 2, 3])
      log.flush()
      log.append(delta('a', ' four'))
      log.flush()
      const stored = log.after(0, 100)
      expect(stored.map((e) => [e.seq, JSON.parse(e.data).partId, JSON.parse(e.data).text])).toEqual([
        [1, 'a', 'one two '],
        [2, 'b', 'x'],
        [3, 'a', 'three'],
        [4, 'a', ' four'],
      ])
      const sent = await framesOf(live, 4)
      expect(sent.map((f) => /^id: (\d+)$/m.exec(f)?.[1])).toEqual(['1', '2', '3', '4'])
      for (let after = 0; after < 4; after++) expect(await framesOf(open(fanout, after), 4 - after)).toEqual(sent.slice(after))
    })
  })

  it('folds deltas of one part that keep coming over several turns into one event until the next store, and replays it as it went out', async () => {
    await runInDurableObject(stub('log-coalescing-turns'), async (_instance, state) => {
      // A window no turn of the loop outlasts, however busy the machine: the store between the
      // turns and the next append is the window's, not the machine's.
      const { log, fanout } = logWithFanout(state.storage, 1000)
      const live = open(fanout)
      const delta = (text: string) => event('message.delta', { messageId: 'm', partId: 'a', kind: 'text', text })
      // Not a sleep: a turn of the event loop, as between two chunks of opencode's stream.
      const turn = () => new Promise((r) => setTimeout(r, 0))
      expect(log.append(event('session.status', { status: 'busy' }))).toBe(1)
      // A store has just been made: what comes next waits for the window, over turns of the loop.
      log.flush()
      expect(log.append(delta('one '))).toBe(2)
      await turn()
      expect(log.append(delta('two'))).toBe(2)
      const sent = await framesOf(live, 2)
      expect(log.append(delta(' three'))).toBe(3)
      log.flush()
      expect(log.after(0, 100).map((e) => [e.seq, JSON.parse(e.data).text])).toEqual([
        [1, undefined],
        [2, 'one two'],
        [3, ' three'],
      ])
      expect(JSON.parse(/^data: (.*)$/m.exec(sent[1]!)![1]!)).toMatchObject({ text: 'one two' })
      for (let after = 0; after < 2; after++) expect(await framesOf(open(fanout, after), 2 - after)).toEqual(sent.slice(after))
    })
  })
})

describe('a replay of large events', () => {
  it('reads pages bounded by bytes, and sends every event exactly once, in order, as stored', async () => {
    await runInDurableObject(stub('log-large-replay'), async (_instance, state) => {
      const { log, fanout } = logWithFanout(state.storage)
      // Completed messages of 300 KB to 1.2 MB of multi-byte text: a few make a page, one may make it alone.
      const texts = Array.from({ length: 12 }, (_, i) => `${i}:` + 'ü'.repeat(150_000 * (1 + (i % 4))))
      for (const [i, text] of texts.entries()) log.append(event('message.completed', { messageId: `m${i}`, role: 'assistant', text }))
      log.flush()
      const pages: number[][] = []
      for (let cursor = 0; ; ) {
        const page = log.after(cursor, 500, REPLAY_PAGE_BYTES)
        if (page.length === 0) break
        const bytes = page.reduce((n, e) => n + new TextEncoder().encode(e.data).byteLength, 0)
        expect(page.length === 1 || bytes <= REPLAY_PAGE_BYTES).toBe(true)
        pages.push(page.map((e) => e.seq))
        cursor = page.at(-1)!.seq
      }
      expect(pages.length).toBeGreaterThan(1)
      expect(pages.flat()).toEqual(texts.map((_, i) => i + 1))

      const { end, text } = await readToEnd(stopAfterReplay(fanout))
      expect(end).toBe('closed')
      const frames = text.split('\n\n').filter(Boolean)
      expect(frames.map((f) => Number(/^id: (\d+)$/m.exec(f)?.[1]))).toEqual(texts.map((_, i) => i + 1))
      expect(frames.map((f) => JSON.parse(/^data: (.*)$/m.exec(f)![1]!).text)).toEqual(texts)
    })
  })
})

/** A stream of everything stored, closed once it is sent (as a session that has ended replays). */
function stopAfterReplay(fanout: Fanout): ReadableStream<Uint8Array> {
  fanout.end()
  return open(fanout)
}

describe('fan-out', () => {
  it('catches a client up from its cursor, then sends live events exactly once', async () => {
    await runInDurableObject(stub('fanout-replay'), async (_instance, state) => {
      const { log, fanout } = logWithFanout(state.storage)
      const append = () => log.append(event('error', { code: 'internal_error', message: 'm' }))
      for (let i = 0; i < 1200; i++) append()
      const stream = open(fanout, 1000)
      for (let i = 0; i < 5; i++) append()
      const ids = await readFrames(stream, (seen) => seen.at(-1) === 1205)
      expect(ids).toEqual(Array.from({ length: 205 }, (_, i) => 1001 + i))
    })
  })

  it('drops a stalled client without holding back the others, and ends streams when the session ends', async () => {
    await runInDurableObject(stub('fanout-stalled'), async (_instance, state) => {
      // docs/operations.md, "When things break": a client is cut when 4096 frames wait for it.
      expect(MAX_PENDING_FRAMES).toBe(4096)
      const { log, fanout } = logWithFanout(state.storage)
      const stalled = open(fanout)
      const healthy = open(fanout)
      const healthyIds = readFrames(healthy, (seen) => seen.at(-1) === MAX_PENDING_FRAMES + 50)
      expect(fanout.size).toBe(2)
      for (let i = 0; i < MAX_PENDING_FRAMES + 50; i++) {
        log.append(event('error', { code: 'internal_error', message: 'm' }))
        // Not a sleep: a turn of the event loop in which a client that reads can read, as between a session's events.
        if (i % 500 === 0) await new Promise((r) => setTimeout(r, 0))
      }
      expect((await healthyIds).length).toBe(MAX_PENDING_FRAMES + 50)
      expect(fanout.size).toBe(1)
      // The stalled client's stream is cut; it would resume from its Last-Event-ID.
      const cut = await readToEnd(stalled)
      expect(cut.end).toBe('errored')
      expect(cut.text.match(/^id: /gm)?.length ?? 0).toBeLessThan(MAX_PENDING_FRAMES + 50)

      fanout.end()
      const reader = healthy.getReader()
      for (;;) if ((await reader.read()).done) break
      expect(fanout.size).toBe(0)
    })
  })
})

describe('fan-out bounds', () => {
  /** A frame of about `kib` KiB, as a tool's whole output would make one. */
  const heavy = (kib: number) => event('error', { code: 'internal_error', message: 'x'.repeat(kib * 1024) })

  it('cuts a client that leaves 8 MiB unread, long before 4096 frames, and keeps the reading one', async () => {
    await runInDurableObject(stub('fanout-bytes'), async (_instance, state) => {
      // docs/operations.md, "When things break": a client is cut when 8 MiB wait for it.
      expect(MAX_PENDING_BYTES).toBe(8 * 1024 * 1024)
      const { log, fanout } = logWithFanout(state.storage)
      const stalled = open(fanout)
      const healthy = open(fanout)
      const count = 40 // 40 x 256 KiB: 10 MiB in 40 frames
      const healthyIds = readFrames(healthy, (seen) => seen.at(-1) === count)
      for (let i = 0; i < count; i++) {
        log.append(heavy(256))
        log.flush()
        // Not a sleep: a turn of the event loop in which a client that reads can read.
        await new Promise((r) => setTimeout(r, 0))
      }
      expect(await healthyIds).toEqual(Array.from({ length: count }, (_, i) => i + 1))
      expect(fanout.size).toBe(1)
      const cut = await readToEnd(stalled)
      expect(cut.end).toBe('errored')
      // The cut client resumes from its last id and gets the rest from the log.
      const lastSeen = Math.max(0, ...[...cut.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])))
      expect(lastSeen).toBeLessThan(count)
      expect(await readFrames(open(fanout, lastSeen), (seen) => seen.at(-1) === count)).toEqual(
        Array.from({ length: count - lastSeen }, (_, i) => lastSeen + i + 1),
      )
    })
  })

  it('counts raw frames against the same bound, only for the clients that asked for them', async () => {
    await runInDurableObject(stub('fanout-raw-bytes'), async (_instance, state) => {
      const { fanout } = logWithFanout(state.storage)
      const rawStalled = open(fanout, 0, true)
      open(fanout) // stalled as well, but it does not take raw frames
      // Just under the raw cap, so each goes out whole: ten of them are over 8 MiB.
      const body = 'y'.repeat(MAX_RAW_FRAME_BYTES - 1024)
      for (let i = 0; i < 10; i++) fanout.publishRaw({ id: `e${i}`, type: 'message.part.updated', properties: { body } } as never)
      expect(fanout.size).toBe(1)
      expect(fanout.wantsRaw).toBe(false)
      expect((await readToEnd(rawStalled)).end).toBe('errored')
    })
  })

  it('sends a raw event too large for a frame as a short frame naming it', async () => {
    await runInDurableObject(stub('fanout-raw-cap'), async (_instance, state) => {
      const { fanout } = logWithFanout(state.storage)
      const raw = open(fanout, 0, true)
      const small = { id: 'e1', type: 'session.idle', properties: { sessionID: 's' } }
      fanout.publishRaw(small as never)
      fanout.publishRaw({ id: 'e2', type: 'message.part.updated', properties: { text: 'z'.repeat(MAX_RAW_FRAME_BYTES) } } as never)
      fanout.end()
      const { end, text } = await readToEnd(raw)
      expect(end).toBe('closed')
      const frames = [...text.matchAll(/^event: agent\.event\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!))
      expect(frames).toEqual([small, { id: 'e2', type: 'message.part.updated', omitted: { reason: 'too large', bytes: expect.any(Number) } }])
      expect(frames[1].omitted.bytes).toBeGreaterThan(MAX_RAW_FRAME_BYTES)
    })
  })

  it('cuts a client that takes nothing from one ping to the next, freeing its place; one that reads stays', async () => {
    await runInDurableObject(stub('fanout-gone'), async (_instance, state) => {
      // A client that hung up, where the hang-up never reaches the session: its stream just stops being read.
      const { fanout } = logWithFanout(state.storage)
      const gone = open(fanout)
      const reading = readToEnd(open(fanout))
      fanout.ping()
      // Not a sleep: a turn of the event loop in which a client that reads can read.
      await new Promise((r) => setTimeout(r, 0))
      expect(fanout.size).toBe(2)
      fanout.ping()
      expect(fanout.size).toBe(1)
      expect((await readToEnd(gone)).end).toBe('errored')
      fanout.end()
      expect(await reading).toEqual({ end: 'closed', text: ': ping\n\n: ping\n\n' })
    })
  })

  it('serves at most 100 streams; a cancelled, cut or ended stream frees its place', async () => {
    await runInDurableObject(stub('fanout-cap'), async (_instance, state) => {
      // docs/api.md, Events: at most 100 streams per session.
      expect(MAX_STREAMS).toBe(100)
      const { log, fanout } = logWithFanout(state.storage)
      const streams = Array.from({ length: MAX_STREAMS }, () => open(fanout))
      expect(fanout.size).toBe(MAX_STREAMS)
      expect(fanout.subscribe(0, { raw: false })).toBeUndefined()
      expect(fanout.size).toBe(MAX_STREAMS)

      // A client that goes away: its stream is cancelled.
      await streams[0]!.cancel()
      expect(fanout.size).toBe(MAX_STREAMS - 1)
      streams[0] = open(fanout)
      expect(fanout.subscribe(0, { raw: false })).toBeUndefined()

      // A client that stops reading: cut at the byte bound, here with every other one (nobody reads).
      for (let i = 0; i < 40; i++) {
        log.append(heavy(256))
        log.flush()
      }
      expect(fanout.size).toBe(0)
      const again = Array.from({ length: MAX_STREAMS }, () => open(fanout, log.lastSeq))
      expect(fanout.subscribe(0, { raw: false })).toBeUndefined()

      // The session ends: every stream closes and frees its place.
      fanout.end()
      for (const s of again) expect((await readToEnd(s)).end).toBe('closed')
      expect(fanout.size).toBe(0)
    })
  })

  it('at the cap, frees the place of a client a probe finds gone, or one the Worker says hung up; refuses while all are there', async () => {
    await runInDurableObject(stub('fanout-probe'), async (_instance, state) => {
      const { fanout } = logWithFanout(state.storage)
      const opened = Array.from({ length: MAX_STREAMS }, () => fanout.subscribe(0, { raw: false })!)
      const readers = opened.slice(1).map(({ stream }) => readToEnd(stream))
      // A client that has gone, which its connection shows at the first write to it.
      const gone = opened[0]!.stream.getReader()
      void gone.read().then(() => gone.cancel())

      const next = await fanout.subscribeMakingRoom(0, { raw: false })
      expect(next).toBeDefined()
      expect(fanout.size).toBe(MAX_STREAMS)
      expect(await fanout.subscribeMakingRoom(0, { raw: false })).toBeUndefined()

      // The Worker serving a stream saw its client hang up: the place is free without a probe.
      fanout.hungUp(opened[1]!.id)
      expect(fanout.size).toBe(MAX_STREAMS - 1)
      expect(fanout.subscribe(0, { raw: false })).toBeDefined()

      fanout.end()
      const ends = (await Promise.all(readers)).map((r) => r.end)
      expect(ends[0]).toBe('errored')
      expect(ends.slice(1).every((end) => end === 'closed')).toBe(true)
      await next!.stream.cancel()
    })
  })
})

describe('log retention', () => {
  it('drops old deltas of completed messages only, and replays the retained window exactly', async () => {
    await runInDurableObject(stub('log-retention'), async (_instance, state) => {
      const log = new EventLog(state.storage, () => 'ses_x')
      const delta = (messageId: string, i: number) => event('message.delta', { messageId, partId: `p${i}`, kind: 'text', text: 'x' })
      for (let i = 0; i < 50; i++) log.append(delta('done', i))
      log.append(event('message.completed', { messageId: 'done', role: 'assistant', text: 'x'.repeat(50) }))
      state.storage.sql.exec(`INSERT INTO messages (id, turn, role, text, parts, created_at) VALUES ('done', 1, 'assistant', '', '[]', '')`)
      for (let i = 0; i < 50; i++) log.append(delta('open', i))
      for (let i = 0; i < 30; i++) log.append(event('error', { code: 'internal_error', message: 'm' }))

      log.flush()
      log.compact(40)

      const kept = log.after(0, 1000, Infinity)
      expect(kept.filter((e) => e.type === 'message.delta' && JSON.parse(e.data).messageId === 'done')).toEqual([])
      expect(kept.filter((e) => e.type === 'message.delta' && JSON.parse(e.data).messageId === 'open')).toHaveLength(50)
      expect(kept.find((e) => e.type === 'message.completed')?.seq).toBe(51)
      // Within the retained window every id is still there.
      expect(log.after(log.lastSeq - 40, 1000, Infinity).map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => log.lastSeq - 39 + i))
    })
  })

  it('keeps the newest 10,000 events whole as the log grows, compacting on its own', async () => {
    await runInDurableObject(stub('log-retention-window'), async (_instance, state) => {
      const log = new EventLog(state.storage, () => 'ses_x')
      state.storage.sql.exec(`INSERT INTO messages (id, turn, role, text, parts, created_at) VALUES ('long', 1, 'assistant', '', '[]', '')`)
      // A long reply, stored a turn of the event loop at a time as a session stores it.
      for (let i = 1; i <= 13_000; i++) {
        log.append(event('message.delta', { messageId: 'long', partId: `p${i}`, kind: 'text', text: 'x' }))
        if (i % 500 === 0) log.flush()
      }
      log.append(event('message.completed', { messageId: 'long', role: 'assistant', text: 'x' }))
      log.flush()
      const window = log.lastSeq - 10_000
      const stored = log.after(0, 20_000, Infinity)
      // Deltas before the window went at the last compaction (every 1,000 appends); none inside it.
      expect(stored[0]!.seq).toBeGreaterThan(1)
      expect(stored[0]!.seq).toBeLessThanOrEqual(window + 1)
      expect(stored.filter((e) => e.seq > window)).toHaveLength(10_000)
      // A client resuming inside the window gets every later event exactly once.
      expect(log.after(window, 20_000, Infinity).map((e) => e.seq)).toEqual(Array.from({ length: 10_000 }, (_, i) => window + 1 + i))
    })
  })
})

describe('the log bound in bytes', () => {
  const storedSum = (storage: DurableObjectStorage) =>
    Number(storage.sql.exec('SELECT COALESCE(SUM(length(CAST(data AS BLOB))), 0) AS n FROM events').one().n)
  const tool = (i: number, state: 'running' | 'completed', size: number) =>
    event('tool.updated', { messageId: 'm', callId: `c${i}`, tool: 'bash', state, ...(state === 'completed' && { output: 'o'.repeat(size) }) })

  it('stays under its bound whatever kind floods it: superseded events go first, then the oldest of any kind, never the newest', async () => {
    await runInDurableObject(stub('log-bound-bytes'), async (_instance, state) => {
      const bound = 64 * 1024
      const log = new EventLog(state.storage, () => 'ses_x', bound)
      log.append(event('session.status', { status: 'busy' }))
      // Running tools carry little and are superseded; a flood of them goes before anything else.
      for (let i = 0; i < 2_000; i++) {
        log.append(tool(i, 'running', 0))
        if (i % 100 === 99) log.flush()
      }
      log.flush()
      expect(storedSum(state.storage)).toBeLessThanOrEqual(bound)
      expect(log.storedBytes).toBe(storedSum(state.storage))
      expect(log.after(0, 1)[0]).toMatchObject({ seq: 1, type: 'session.status' })

      // Completed tools are kept first, but a flood of them still may not grow the log past its bound.
      for (let i = 0; i < 300; i++) {
        log.append(tool(i, 'completed', 2_000))
        if (i % 10 === 9) log.flush()
      }
      const last = log.append(event('session.status', { status: 'idle' }))
      log.flush()
      expect(storedSum(state.storage)).toBeLessThanOrEqual(bound)
      expect(log.storedBytes).toBe(storedSum(state.storage))
      const kept = log.after(0, 10_000, Infinity)
      // What is left is the newest events, without a gap, down to the newest one.
      expect(kept.at(-1)!.seq).toBe(last)
      expect(kept.map((e) => e.seq)).toEqual(Array.from({ length: kept.length }, (_, i) => last - kept.length + 1 + i))
      expect(kept.length).toBeGreaterThan(10)
      expect(kept.every((e) => e.type !== 'tool.updated' || JSON.parse(e.data).state === 'completed')).toBe(true)

      // The size is kept with the log: a log opened again goes on from it.
      const reopened = new EventLog(state.storage, () => 'ses_x', bound)
      expect(reopened.storedBytes).toBe(log.storedBytes)
    })
  })

  it('is 32 MiB by default', async () => {
    await runInDurableObject(stub('log-bound-default'), async (_instance, state) => {
      const log = new EventLog(state.storage, () => 'ses_x')
      // A megabyte of completed tools is well within it: all kept.
      for (let i = 0; i < 32; i++) log.append(tool(i, 'completed', 32 * 1024))
      log.flush()
      expect(log.after(0, 100, Infinity)).toHaveLength(32)
      expect(log.storedBytes).toBe(storedSum(state.storage))
      expect(MAX_LOG_BYTES).toBe(32 * 1024 * 1024)
    })
  })
})

