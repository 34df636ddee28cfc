import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DEMO_MODEL_ID, DEMO_PRICE } from '../../local/model-server'
import { ownStackForFile } from '../helpers/own-stack'
import { agentChat, agentSession, api, scripted, waitFor, type Json } from './helpers'

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
    const maxTokens = 1000
    const usage = { prompt: 10, completion: maxTokens }
    const body = {
      model: DEMO_MODEL_ID,
      max_tokens: maxTokens,
      messages: [{ role: 'user', content: scripted({ reply: 'ok', usage }, `tenant-parallel ${randomBytes(6).toString('hex')}`) }],
    }
    // Five calls from each session: any one session alone stays within the cap's five calls.
    const answers = await Promise.all(
      sessions.flatMap(({ token }) =>
        Array.from({ length: 5 }, async () => {
          const res = await agentChat(token, body)
          const json = (await res.json()) as Json
          return res.status === 200 ? 'granted' : json.error?.code
        }),
      ),
    )
    const granted = answers.filter((a) => a === 'granted').length
    expect(answers.filter((a) => a !== 'granted').every((a) => a === 'budget_exceeded')).toBe(true)
    // What the scripted model billed for each call, at the model's price; and what one call is
    // reserved for: its max_tokens at the output price, and at most its whole body as input.
    const billedPerCall = (usage.prompt * DEMO_PRICE.input + usage.completion * DEMO_PRICE.output) / 1e6
    const reservation = (JSON.stringify(body).length * DEMO_PRICE.input + maxTokens * DEMO_PRICE.output) / 1e6
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
