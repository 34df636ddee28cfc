import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { Reservations } from '../../src/session/gateway/reservations'

/** A session's calls in flight, on a real session's SQLite: counted together until each is settled, once. */

describe('reservations', () => {
  it('count together while in flight, are taken once, and name those whose report is not coming', async () => {
    await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName('reservations-once')), async (_instance, state) => {
      const reservations = new Reservations(state.storage.sql)
      const old = reservations.add({ cost: 0.5, outputTokens: 100 }, 1_000)
      const fresh = reservations.add({ cost: 0.25, outputTokens: 50 }, 9_000)
      expect(reservations.inFlight()).toEqual({ cost: 0.75, outputTokens: 150 })
      expect(reservations.staleIds(5_000)).toEqual([old])
      expect(reservations.take(old)).toEqual({ cost: 0.5, outputTokens: 100 })
      expect(reservations.take(old)).toBeUndefined()
      expect(reservations.inFlight()).toEqual({ cost: 0.25, outputTokens: 50 })
      expect(reservations.take(fresh)).toBeDefined()
      expect(reservations.inFlight()).toEqual({ cost: 0, outputTokens: 0 })
    })
  })
})
