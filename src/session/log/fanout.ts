import { frame, PING_FRAME, rawFrame } from '../../events/sse'
import type { LoggedEvent } from '../../contracts'
import { DEFAULT_TIMINGS } from '../../config/timings'
import type { EventLog } from './event-log'

/**
 * Frames a client may have outstanding before it counts as stalled and is dropped. Dropping is
 * safe: the client resumes from its Last-Event-ID and loses nothing, while the others never wait.
 */
export const MAX_PENDING_FRAMES = 4096
/** The same bound in bytes: a few frames of whole files weigh more than thousands of deltas. */
export const MAX_PENDING_BYTES = 8 * 1024 * 1024
/**
 * The largest `?raw=1` frame sent as it is: a part of a reply as long as the longest completed
 * message (MAX_MESSAGE_TEXT) fits; larger ones carry whole files or outputs, capped elsewhere.
 */
export const MAX_RAW_FRAME_BYTES = 1024 * 1024
/** Streams one session serves at once; each holds a writer and up to MAX_PENDING_BYTES. */
export const MAX_STREAMS = 100
/**
 * How long a stream asked for at the cap waits for the probe's hang-ups: on a loaded 2-core
 * machine they arrive within about 50 ms; a client refused waits this long for its 429.
 */
const PROBE_MS = 1000
const PROBE_WRITE_EVERY_MS = 20

type Client = {
  /** Names the stream to the Worker that serves it, which says when its client hangs up. */
  id: number
  writer: WritableStreamDefaultWriter<Uint8Array>
  raw: boolean
  live: boolean
  pending: number
  pendingBytes: number
  /** writes made and taken by the client; they are taken in order */
  sent: number
  taken: number
  /** `sent` and `taken` at the last ping */
  atPing: { sent: number; taken: number }
  closed: boolean
}


/** A client's stream, and the number the Worker serving it names it by to `hungUp`. */
export type Subscription = { stream: ReadableStream<Uint8Array>; id: number }

const encoder = new TextEncoder()
const PING = encoder.encode(PING_FRAME)

/**
 * Fans the session's events out to every connected SSE client. A new client is first caught up
 * from the log, page by page with back-pressure, and switched to live delivery in the same
 * synchronous step that finds no more rows, so no event is missed or sent twice.
 */
export class Fanout {
  private readonly clients = new Map<number, Client>()
  private lastId = 0
  /** The probe under way at the cap, and how it hears that a place came free. */
  private probing: Promise<boolean> | undefined
  private placeFreed: (() => void) | undefined
  private pinger: ReturnType<typeof setInterval> | undefined
  /** Set once the session has ended: streams then close after the client has caught up. */
  private ended = false

  /** `pingMs`: TIMINGS pingMs; the contract promises a ping at least every 15 s. */
  constructor(
    private readonly log: EventLog,
    private readonly pingMs: number = DEFAULT_TIMINGS.pingMs,
  ) {}

  get size(): number {
    return this.clients.size
  }

  /** `subscribe`, but at the cap it first probes the open streams for clients that have gone. */
  async subscribeMakingRoom(after: number, opts: { raw: boolean }): Promise<Subscription | undefined> {
    for (;;) {
      const opened = this.subscribe(after, opts)
      if (opened || !(await this.probe())) return opened
    }
  }

  /**
   * A byte stream of SSE frames: every event after `after`, then live ones; none when MAX_STREAMS
   * are open. A stream frees its place when it closes, is cancelled, is cut, or `hungUp` names it.
   */
  subscribe(after: number, opts: { raw: boolean }): Subscription | undefined {
    if (this.clients.size >= MAX_STREAMS) return undefined
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>()
    const client: Client = {
      id: ++this.lastId,
      writer: writable.getWriter(),
      raw: opts.raw,
      live: false,
      pending: 0,
      pendingBytes: 0,
      sent: 0,
      taken: 0,
      atPing: { sent: 0, taken: 0 },
      closed: false,
    }
    client.writer.closed.catch(() => this.drop(client))
    this.clients.set(client.id, client)
    this.startPinging()
    void this.catchUp(client, after)
    return { stream: readable, id: client.id }
  }

  /**
   * The client of stream `id` has gone. A stream handed over RPC is not cancelled when its reader
   * goes away (it stalls), so without this word a closed stream would hold its place until a ping
   * found it stalled, and a client reconnecting in a loop would fill the session's places.
   */
  hungUp(id: number) {
    const client = this.clients.get(id)
    if (client) this.drop(client)
  }

  /**
   * At the cap: a ping to every stream, then a moment for the hang-ups it brings to arrive. A
   * client that has gone is only found out by writes to it (its connection then fails in the
   * Worker, which says so through `hungUp`); without this, streams a client opened and closed in
   * a loop would hold their places until the next pings and refuse its next stream. Whether a
   * place came free: callers that lose it to another try again, until a probe frees none.
   */
  private probe(): Promise<boolean> {
    this.probing ??= new Promise<boolean>((resolve) => {
      // A connection closed at the other end accepts a write and fails at the next, and a stream
      // passes several (the Worker's, a proxy's): a gone client is found after a few writes.
      const again = setInterval(() => this.pingLive(), PROBE_WRITE_EVERY_MS)
      const giveUp = setTimeout(() => finish(), PROBE_MS)
      const finish = () => {
        clearInterval(again)
        clearTimeout(giveUp)
        this.placeFreed = undefined
        this.probing = undefined
        resolve(this.clients.size < MAX_STREAMS)
      }
      this.placeFreed = finish
      this.pingLive()
    })
    return this.probing
  }

  private pingLive() {
    for (const client of this.clients.values()) if (client.live) this.write(client, PING, 1)
  }

  private async catchUp(client: Client, after: number) {
    let cursor = after
    try {
      for (;;) {
        const rows = this.log.after(cursor)
        if (rows.length === 0) break
        await client.writer.write(encoder.encode(rows.map(frame).join('')))
        cursor = rows[rows.length - 1]!.seq
      }
    } catch {
      this.drop(client)
      return
    }
    if (this.ended) this.drop(client, true)
    else client.live = true
  }

  /** Live events, in one write per client for the whole batch. */
  publishAll(events: LoggedEvent[]) {
    if (this.clients.size === 0) return
    this.broadcast(encoder.encode(events.map(frame).join('')), () => true, events.length)
  }

  /** Whether anyone asked for opencode's own events, so nobody pays for serializing them otherwise. */
  get wantsRaw(): boolean {
    for (const c of this.clients.values()) if (c.raw) return true
    return false
  }

  /**
   * One of opencode's own events, as it is. One too large to send goes out as a short frame of
   * its `id` and `type` marked `omitted` instead of being dropped: a raw client can tell that
   * something went by and what, and the public events carry its content, capped.
   */
  publishRaw(ev: { id?: string; type: string }) {
    if (this.clients.size === 0) return
    let bytes = encoder.encode(rawFrame(JSON.stringify(ev)))
    if (bytes.byteLength > MAX_RAW_FRAME_BYTES) {
      bytes = encoder.encode(rawFrame(JSON.stringify({ id: ev.id, type: ev.type, omitted: { reason: 'too large', bytes: bytes.byteLength } })))
    }
    this.broadcast(bytes, (c) => c.raw)
  }

  /** Ends every stream once its client has been sent what is already in the log. */
  end() {
    // What was just appended (session.ended, say) goes out before the streams close.
    this.log.flush()
    this.ended = true
    for (const client of this.clients.values()) {
      if (client.live) this.drop(client, true)
    }
  }

  private broadcast(bytes: Uint8Array, wants: (c: Client) => boolean, frames = 1) {
    for (const client of this.clients.values()) {
      if (!client.live || !wants(client)) continue
      this.write(client, bytes, frames)
    }
  }

  private write(client: Client, bytes: Uint8Array, frames: number) {
    if (client.pending + frames > MAX_PENDING_FRAMES || client.pendingBytes + bytes.byteLength > MAX_PENDING_BYTES) {
      this.drop(client)
      return
    }
    client.pending += frames
    client.pendingBytes += bytes.byteLength
    client.sent++
    client.writer.write(bytes).then(
      () => {
        client.pending -= frames
        client.pendingBytes -= bytes.byteLength
        client.taken++
      },
      () => this.drop(client),
    )
  }

  private drop(client: Client, graceful = false) {
    if (client.closed) return
    client.closed = true
    this.clients.delete(client.id)
    this.placeFreed?.()
    if (graceful) client.writer.close().catch(() => {})
    else client.writer.abort().catch(() => {})
    if (this.clients.size === 0) this.stopPinging()
  }

  /**
   * Every `pingMs`. A client that has taken nothing since the last ping although it was
   * sent something before it is gone: a client that hangs up is not always told to the session
   * (a stream handed over RPC stalls rather than fails), and its place must come free. It is cut
   * as a stalled client is, so one that is still there resumes from its Last-Event-ID.
   */
  ping() {
    for (const client of this.clients.values()) {
      if (!client.live) continue
      const { sent, taken } = client.atPing
      if (client.taken === taken && taken < sent) {
        this.drop(client)
        continue
      }
      this.write(client, PING, 1)
      client.atPing = { sent: client.sent, taken: client.taken }
    }
  }

  private startPinging() {
    this.pinger ??= setInterval(() => this.ping(), this.pingMs)
  }

  private stopPinging() {
    if (this.pinger) clearInterval(this.pinger)
    this.pinger = undefined
  }
}
