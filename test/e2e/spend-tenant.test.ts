import { describe, expect, it } from 'vitest'
import { ownStackForFile } from '../helpers/own-stack'
import { agentSession, api, parallelCalls, waitFor, type Json } from './helpers'

/**
 * A tenant's daily cost cap, attacked from several of its sessions at once: each one's agent
 * reads its own gateway token and calls the gateway directly, all in parallel. The tenant's index
 * counts every session's calls in flight, so together they pass the cap by at most one
 * reservation. On a stack of its own, since the cap holds every session of the deployment.
 */

const DAILY_CAP = 0.01

ownStackForFile('spend-tenant', { TENANT_MAX_COST_USD_PER_DAY: String(DAILY_CAP) }, { scriptedModel: true })

describe("a tenant's daily cap", () => {
  it('holds parallel calls from several sessions to it, passing it by at most one reservation', async () => {
    const sessions = await Promise.all(Array.from({ length: 4 }, () => agentSession()))
    // Five calls from each session: any one session alone stays within the cap's five calls.
    const { granted, refusals, billedPerCall, reservation } = await parallelCalls(
      sessions.map((s) => s.token),
      5,
      'tenant-parallel',
    )
    expect(refusals.every((a) => a === 'budget_exceeded')).toBe(true)
    expect(granted).toBeGreaterThan(0)
    expect(granted * billedPerCall).toBeLessThanOrEqual(DAILY_CAP + reservation)

    // Every call settled: the tenant's day holds what was billed, nothing still reserved.
    const day = await waitFor('every call to be settled at the tenant', async () => {
      const caps = (await api('/v1/usage')).body.caps as Json
      return Math.abs(caps.day.spentUsd - granted * billedPerCall) < 1e-9 ? caps.day : undefined
    })
    expect(day).toMatchObject({ limitUsd: DAILY_CAP, remainingUsd: Math.max(0, Math.round((DAILY_CAP - granted * billedPerCall) * 1e9) / 1e9) })
  })
})
