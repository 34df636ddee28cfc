import { afterAll, describe, expect, it } from 'vitest'
import { baseUrl, EventStream, GiveUp, idleSessionForBlock, TEST_KEYS, waitFor } from './helpers'

/** docs/api.md, Events: a session serves at most this many event streams at once. */
const MAX_STREAMS = 100

describe('streams per session', () => {
  const session = idleSessionForBlock()
  const open: EventStream[] = []
  /** Streams opened past the 100 by openOneMore, kept only to be closed. */
  const extra: Response[] = []

  /** One more stream, asked for as a client asks: its status and, when refused, its error body. */
  async function openOneMore(sessionId: string): Promise<{ status: number; body?: unknown }> {
    const response = await fetch(`${baseUrl()}/v1/sessions/${sessionId}/events`, { headers: { authorization: `Bearer ${TEST_KEYS[0]}` } })
    if (response.status !== 200) return { status: response.status, body: await response.json() }
    extra.push(response)
    return { status: 200 }
  }

  afterAll(async () => {
    await Promise.all(open.map((s) => s.close()))
    await Promise.all(extra.map((r) => r.body?.cancel()))
  })

  // Run first: the 100 readers of the next test find their places although these streams took them.
  it('serves a client that opens and closes its stream 150 times in a row, without a 429', { timeout: 300_000 }, async () => {
    // A page reloading or a network flapping: each stream is gone before the next one opens.
    const statuses: number[] = []
    for (let i = 0; i < 150; i++) {
      const hangUp = new AbortController()
      const response = await fetch(`${baseUrl()}/v1/sessions/${session()}/events`, {
        headers: { authorization: `Bearer ${TEST_KEYS[0]}` },
        signal: hangUp.signal,
      })
      statuses.push(response.status)
      if (response.status === 200) await response.body!.getReader().read()
      else await response.body?.cancel()
      hangUp.abort()
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([])
  })

  it('answers the 101st stream 429 too_many_requests until one of the 100 closes', { timeout: 300_000 }, async () => {
    for (let i = 0; i < MAX_STREAMS; i++) open.push(new EventStream(session()))
    // Each replays the session's log from the start: a first event means it is served.
    await Promise.all(open.map((s) => s.until(() => true)))

    const refused = await openOneMore(session())
    expect(refused.status).toBe(429)
    expect(refused.body).toEqual({ error: { code: 'too_many_requests', message: expect.stringContaining(`${MAX_STREAMS} event streams`) } })
    // Those served go on being served.
    expect(open.every((s) => !s.ended)).toBe(true)

    // A client that goes away frees its place. The hang-up need not reach the session until
    // something is written to the stream: a stream asked for at the cap makes the session probe.
    await open.shift()!.close()
    await waitFor(
      'a place to free up',
      async () => {
        const tried = await openOneMore(session())
        if (tried.status !== 200 && tried.status !== 429) throw new GiveUp(`answered ${tried.status}: ${JSON.stringify(tried.body)}`)
        return tried.status === 200
      },
      150_000,
    )
    expect(extra).toHaveLength(1)
    expect((await openOneMore(session())).status).toBe(429)
  })
})
