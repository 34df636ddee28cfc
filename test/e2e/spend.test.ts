import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DEMO_MODEL_ID, DEMO_PRICE, UNPRICED_MODEL_ID } from '../../local/model-server'
import { agentChat, agentSession, api, baseUrl, EventStream, modelBase, parallelCalls, scripted, waitFor, type Json } from './helpers'

/**
 * What the model gateway lets a session spend, attacked as the agent in the sandbox would: it
 * reads its own gateway token and calls the gateway directly, as often and as much at once as it
 * likes. The scripted model states the usage it bills, so that every charge is known exactly.
 */

/** A capped session's sandbox, ready, and the token its agent can read. */
const cappedSession = (maxCostUsd: number) => agentSession({ limits: { maxCostUsd } })
const chat = agentChat

/** What reached the scripted model, request by request. */
const requestsSeenByModel = async () => (await (await fetch(`${modelBase()}/_requests`)).json()) as Json[]

describe('cost caps', () => {
  it('refuses every call to a model of no known price while a cap holds, from the first, and says which model', async () => {
    const { id, token } = await cappedSession(0.000001)
    const stream = new EventStream(id)
    const mark = `unpriced-${randomBytes(6).toString('hex')}`
    const statuses: [number, string][] = []
    for (let i = 0; i < 8; i++) {
      const res = await chat(token, { model: UNPRICED_MODEL_ID, stream: true, messages: [{ role: 'user', content: `${mark} ${i}` }] })
      const text = await res.text()
      statuses.push([res.status, res.status === 402 ? (JSON.parse(text) as Json).error.code : text.slice(0, 40)])
    }
    expect(statuses).toEqual(Array.from({ length: 8 }, () => [402, 'price_unknown']))
    expect((await requestsSeenByModel()).filter((r) => JSON.stringify(r).includes(mark))).toEqual([])
    const told = await stream.until((e) => e.event === 'error' && e.data.code === 'price_unknown')
    expect(told.data.message).toContain(`local/${UNPRICED_MODEL_ID}`)
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it('refuses to create a capped session or run on a model of no known price, saying why', async () => {
    for (const path of ['/v1/sessions', '/v1/runs']) {
      const res = await api(path, { body: { prompt: 'hello', model: `local/${UNPRICED_MODEL_ID}`, limits: { maxCostUsd: 1 } } })
      expect([path, res.status, res.body.error.code]).toEqual([path, 400, 'validation_failed'])
      expect(res.body.error.message).toContain('no known price')
      expect(res.body.error.details[0]).toMatchObject({ path: 'json.model', code: 'price_unknown' })
    }
  })

  it('holds parallel calls to their cap, passing it by at most one reservation', async () => {
    const cap = 0.01
    const { id, token } = await cappedSession(cap)
    const { granted, refusals, billedPerCall, reservation } = await parallelCalls([token], 20, 'parallel')
    expect(refusals.every((a) => a === 'budget_exceeded')).toBe(true)
    expect(granted).toBeGreaterThan(0)
    expect(granted * billedPerCall).toBeLessThanOrEqual(cap + reservation)
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it("warns once at 80% of a session's cap, and shows what its calls cost as the provider billed them", async () => {
    const cap = 0.01
    const { id, token } = await cappedSession(cap)
    const stream = new EventStream(id)
    const usage = { prompt: 10, completion: 1000 }
    const perCall = (usage.prompt * DEMO_PRICE.input + usage.completion * DEMO_PRICE.output) / 1e6
    const call = async (n: number) => {
      const content = scripted({ reply: 'ok', usage }, `warned ${n} ${randomBytes(6).toString('hex')}`)
      const res = await chat(token, { model: DEMO_MODEL_ID, max_tokens: usage.completion, messages: [{ role: 'user', content }] })
      expect(res.status).toBe(200)
      await res.text()
      // settled once the answer has passed: the session's spend says so
      return waitFor(`call ${n} to be settled`, async () => {
        const spend = (await api(`/v1/sessions/${id}`)).body.spend as Json
        return spend.outputTokens === n * usage.completion ? spend : undefined
      })
    }
    // Three calls are 60% of the cap, the fourth 80%.
    for (const n of [1, 2, 3]) await call(n)
    expect(stream.events.filter((e) => e.event === 'budget.warning')).toEqual([])
    const spend = await call(4)
    expect(spend).toEqual({ inputTokens: 4 * usage.prompt, outputTokens: 4 * usage.completion, cost: expect.closeTo(4 * perCall, 12) })
    const warned = await stream.until((e) => e.event === 'budget.warning')
    expect(warned.data).toMatchObject({ limitUsd: cap, spentUsd: expect.closeTo(4 * perCall, 12) })
    await call(5)
    await stream.until((e) => e.event === 'error' && e.data.code === 'budget_exceeded')
    expect(stream.events.filter((e) => e.event === 'budget.warning')).toHaveLength(1)
    await stream.close()
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})

describe('metering', () => {
  it("meters an OpenAI Responses stream exactly as the provider billed it, cached input at its own price", async () => {
    const { id, token } = await cappedSession(1)
    const mark = `responses-${randomBytes(6).toString('hex')}`
    const usage = { prompt: 1000, completion: 300, cached: 400 }
    const res = await fetch(`${baseUrl()}/v1/gateway/local/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: DEMO_MODEL_ID, stream: true, max_output_tokens: 500, input: scripted({ reply: 'a streamed answer', usage }, mark) }),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('response.completed')
    const billed = (await (await fetch(`${modelBase()}/_billed?mark=${mark}`)).json()) as Json
    expect(billed).toEqual({ answers: 1, ...usage })
    const cost = ((usage.prompt - usage.cached) * DEMO_PRICE.input + usage.cached * DEMO_PRICE.cache_read + usage.completion * DEMO_PRICE.output) / 1e6
    const spend = await waitFor('the call to be settled', async () => {
      const s = (await api(`/v1/sessions/${id}`)).body.spend as Json
      return s.outputTokens > 0 ? s : undefined
    })
    expect(spend).toEqual({ inputTokens: usage.prompt, outputTokens: usage.completion, cost: expect.closeTo(cost, 12) })
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })
})
