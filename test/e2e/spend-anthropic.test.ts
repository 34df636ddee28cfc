import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { DIALECTS, inDialect, UNPRICED_MODEL_ID, type Dialect } from '../../local/model-server'
import { PRICE_TABLE } from '../../src/gateway/price-table'
import { ownStackForFile } from '../helpers/own-stack'
import { api, createSession, scripted, waitFor, type Json } from './helpers'

/**
 * The metered bill on a deployment whose model speaks another API than chat completions (the
 * chat dialect's bill: usage.test.ts): Anthropic's Messages API (usage in message_start and
 * message_delta, cache reads apart, tool_use blocks) and OpenAI's Responses API (function_call
 * items, usage in response.completed, cached input inside it), each on a stack of its own, under
 * a monthly tenant cap. What GET /v1/usage says equals what the scripted provider billed, at the
 * price table's prices (the model has no `cost` of its own). (The file keeps its first dialect's
 * name, which the README's table of guarantees cites.)
 */

const MONTHLY_CAP = 1000
/** The price table's row for each dialect's model: Anthropic's by the API its provider speaks, OpenAI's by its provider's id. */
const ROW: Record<Dialect, [string, string]> = { anthropic: ['anthropic', 'claude-haiku-4-5'], responses: ['openai', 'gpt-4-1-mini'] }

describe('the bill, in Anthropic’s dialect', () => theBill('anthropic'))
describe('the bill, in OpenAI’s Responses dialect', () => theBill('responses'))

/** The tests of one dialect, on a stack of its own whose default and title model speaks it. */
function theBill(dialect: Dialect) {
  const { provider, model } = DIALECTS[dialect]
  /** What the price table says the model costs: no `cost` is configured for it. */
  const PRICE = PRICE_TABLE[ROW[dialect][0]]![ROW[dialect][1]]!
  const own = ownStackForFile(`spend-${dialect}`, { TENANT_MAX_COST_USD_PER_MONTH: String(MONTHLY_CAP) }, { scriptedModel: true, opencodeConfig: inDialect(dialect) })

  const billedFor = async (mark: string) =>
    (await (await fetch(`${own().stack.model!.url.replace(/\/v1$/, '')}/_billed?mark=${mark}`)).json()) as {
      answers: number
      prompt: number
      completion: number
      cached: number
    }

  it('counts a turn with a tool call and its title exactly as the provider billed them, and what remains of the monthly cap', async () => {
    const mark = `${dialect}-${randomUUID()}`
    const usage = { prompt: 2000, completion: 500, cached: 800 }
    // No title given: opencode asks the model for one.
    const id = await createSession({ permissions: { bash: 'allow' } })
    const steps = [{ tool: { name: 'bash', args: { command: 'echo tooled', description: 'a tool step' } } }, { text: 'done: {{tool_result}}' }]
    const sent = await api(`/v1/sessions/${id}/messages?wait=true&timeout=120`, { body: { text: scripted({ steps, usage }, mark) } })
    expect(sent.status).toBe(200)
    expect(sent.body.reply.text).toContain('tooled')

    let billed = await billedFor(mark)
    const totals = await waitFor('every call to be reported', async () => {
      billed = await billedFor(mark)
      const t = (await api('/v1/usage')).body.totals as Json
      return billed.answers >= 3 && t.outputTokens === billed.completion ? t : undefined
    })
    const cost = ((billed.prompt - billed.cached) * PRICE.input + billed.cached * PRICE.cacheRead! + billed.completion * PRICE.output) / 1e6
    expect(billed.cached).toBe(2 * usage.cached)
    expect(totals.inputTokens).toBe(billed.prompt)
    expect(Math.round(totals.cost * 1e9) / 1e9).toBe(Math.round(cost * 1e9) / 1e9)
    expect((await api('/v1/usage')).body.models).toEqual([
      {
        provider,
        model,
        calls: billed.answers,
        inputTokens: billed.prompt,
        outputTokens: billed.completion,
        cacheReadTokens: billed.cached,
        cacheWriteTokens: 0,
        cost: expect.closeTo(cost, 9),
      },
    ])
    const session = (await api(`/v1/sessions/${id}`)).body
    expect(session.spend).toEqual({ inputTokens: billed.prompt, outputTokens: billed.completion, cost: expect.closeTo(cost, 9) })
    // opencode's own figure (the session's `usage`) leaves the title's call and the cached input
    // out: GET /v1/usage shows it beside the bill, since the two differ.
    expect(session.usage.outputTokens).toBeLessThan(billed.completion)
    const opencode = await waitFor("opencode's figure beside the bill", async () => {
      const figure = ((await api('/v1/usage')).body.totals as Json).opencode as Json | undefined
      return figure?.outputTokens === session.usage.outputTokens ? figure : undefined
    })
    expect(opencode).toEqual({ inputTokens: session.usage.inputTokens, outputTokens: session.usage.outputTokens, cost: expect.closeTo(session.usage.cost, 9) })

    const caps = await waitFor('the spend to reach the tenant', async () => {
      const c = (await api('/v1/usage')).body.caps as Json
      return c.month.spentUsd > 0 ? c : undefined
    })
    expect(caps.day).toBeNull()
    expect(caps.month).toEqual({ limitUsd: MONTHLY_CAP, spentUsd: expect.closeTo(cost, 9), remainingUsd: expect.closeTo(MONTHLY_CAP - cost, 9) })
    await api(`/v1/sessions/${id}`, { method: 'DELETE' })
  })

  it("refuses a session on a model of no known price, since the tenant's cap holds every session", async () => {
    const res = await api('/v1/sessions', { body: { model: `local/${UNPRICED_MODEL_ID}` } })
    expect(res.status).toBe(400)
    expect(res.body.error.details[0]).toMatchObject({ path: 'json.model', code: 'price_unknown' })
  })
}
