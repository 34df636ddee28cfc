import { rmSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api, createSession, EventStream, fixtureRepo, GiveUp, isIdleEvent, waitFor, waitForStatus } from '../helpers'

/**
 * The warm pool backs off when E2B refuses to create (docs/operations.md, "When things break"): three failed
 * refills within five minutes pause refills for five minutes, and `/health` says until when. A
 * repository pool (WARM_POOLS) beside it wakes the pool on its own account, which must not end
 * the pause either.
 */

/**
 * The pool's intervals this test waits through (docs/sandboxes.md: 30 s and five minutes), shortened through
 * the TIMINGS setting so that the rule, not its length, is tested. refillRetryMs: how soon a
 * failed refill is tried again; refillPauseMs: how long refills stop after the third failure.
 */
const TIMINGS = { refillRetryMs: 3_000, refillPauseMs: 30_000 }
const { refillRetryMs: REFILL_RETRY_MS, refillPauseMs: REFILL_PAUSE_MS } = TIMINGS
/** Room for a slow machine on top of the intervals a wait spans. */
const SLACK_MS = 60_000

let own: OwnStack
let repo: string

beforeAll(async () => {
  repo = fixtureRepo('e2b-pool-backoff', { 'README.md': 'pooled\n' })
  own = await startOwnStack(
    'e2b-pool-backoff',
    { WARM_POOL_SIZE: '1', WARM_POOLS: JSON.stringify([{ repo: `file://${repo}`, size: 1 }]), TIMINGS: JSON.stringify(TIMINGS) },
    { e2bStandIn: { apiKey: 'e2b_pool_backoff_key_0123456789' }, scriptedModel: true },
  )
})

afterAll(async () => {
  await own?.close()
  rmSync(repo, { recursive: true, force: true })
})

const health = async () => (await api('/health', { key: null })).body.warmPool as { target: number; ready: number; refillPausedUntil?: string }
const repoHealth = async () => (await api('/health', { key: null })).body.repoPools as { target: number; ready: number }

it(
  'pauses refills after three failed creates (five minutes unless TIMINGS says otherwise), says so on /health, tries none meanwhile, and refills after',
  async () => {
    const standIn = own.stack.e2b!
    // The bare pool's own creates, told from sessions' and the repository pool's by their metadata.
    const refills = () => standIn.calls('create').filter((call) => call.metadata?.pool === 'default')
    await waitFor('the pools to fill', async () => (await health())?.ready === 1 && (await repoHealth())?.ready === 1, 120_000)
    standIn.failNextCreates(1_000)
    try {
      const before = refills().length
      // The session takes the warm sandbox; the refill that follows fails, and fails again 30 s apart.
      const id = await createSession()
      await waitForStatus(id, 'idle')
      const paused = await waitFor('refills to pause', async () => (await health()).refillPausedUntil, 2 * REFILL_RETRY_MS + SLACK_MS)
      const pausedAt = Date.now()
      const failed = refills().slice(before)
      expect(failed.map((call) => call.answer)).toEqual([503, 503, 503])
      const until = Date.parse(paused)
      // Five minutes from the third failure, as far as the Worker saw it.
      expect(until).toBeGreaterThanOrEqual(failed[2]!.at.getTime() + REFILL_PAUSE_MS)
      expect(until).toBeLessThanOrEqual(pausedAt + REFILL_PAUSE_MS)

      // E2B is back, but the pause holds: a session taking the repository pool's sandbox wakes
      // the pool to refill that one, and the bare pool makes none.
      standIn.failNextCreates(0)
      const other = await createSession({ repo: { url: `file://${repo}` } })
      const stream = new EventStream(other, { after: 0 })
      try {
        await stream.until(isIdleEvent)
        expect(stream.events.some((e) => e.event === 'sandbox.status' && e.data.reason === 'warm')).toBe(true)
      } finally {
        await stream.close()
      }
      await waitFor('the repository pool to refill', async () => (await repoHealth()).ready === 1, 90_000)
      expect(refills().length - before).toBe(3)
      expect(await health()).toEqual({ target: 1, ready: 0, refillPausedUntil: paused })

      // Until /health stops saying paused no refill is tried; then the pool fills again.
      await waitFor(
        'the pool to refill once the pause is over',
        async () => {
          // Counted before /health is asked: a refill counted here came before an answer still saying paused.
          const tried = refills().length - before
          const now = await health()
          if (now.refillPausedUntil !== undefined && tried > 3) throw new GiveUp(`a refill was tried while /health said paused until ${now.refillPausedUntil}`)
          return now.ready === 1
        },
        REFILL_PAUSE_MS + REFILL_RETRY_MS + SLACK_MS,
      )
      const after = refills().slice(before + 3)
      expect(after[0]?.answer).toBe(201)
      expect(after[0]!.at.getTime()).toBeGreaterThanOrEqual(until)
      expect((await health()).refillPausedUntil).toBeUndefined()
      for (const session of [id, other]) await api(`/v1/sessions/${session}`, { method: 'DELETE' })
    } finally {
      standIn.failNextCreates(0)
    }
  },
  120_000 + 2 * REFILL_RETRY_MS + REFILL_PAUSE_MS + REFILL_RETRY_MS + 3 * SLACK_MS,
)
