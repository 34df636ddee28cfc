import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, finished, fixtureRepo, scripted, TEST_KEYS, waitFor, type Json } from './helpers'

/** A six-field cron expression (seconds first) that fires once a year, at `at` (UTC). */
const onceAt = (at: Date) => `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`

const firings = async (id: string, key?: string) => (await api(`/v1/schedules/${id}/runs`, { key })).body.items as Json[]

describe('schedules', () => {
  let repo: string

  beforeAll(() => {
    repo = fixtureRepo('schedule-repo', { 'README.md': '# scheduled\n' })
  })

  afterAll(() => rmSync(repo, { recursive: true, force: true }))

  it('fires when its cron expression comes due and starts a run linked to it', async () => {
    const due = new Date(Date.now() + 3_000)
    const created = await api('/v1/schedules', {
      body: { cron: onceAt(due), timezone: 'UTC', run: { prompt: scripted({ reply: 'nightly report done' }), repo: { url: repo } } },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^sch_/), state: 'active', consecutiveFailures: 0, lastFiredAt: null })
    const nextRunAt = Date.parse(created.body.nextRunAt as string)
    expect(nextRunAt).toBe(Math.floor(due.getTime() / 1000) * 1000)
    const id = created.body.id as string

    const [firing] = await waitFor('the schedule to fire', async () => {
      const items = await firings(id)
      return items.length > 0 ? items : undefined
    })
    // Never early: the firing is at or after the time the schedule said.
    expect(Date.parse(firing!.firedAt as string)).toBeGreaterThanOrEqual(nextRunAt)
    const run = await finished(firing!.runId as string)
    expect(run).toMatchObject({ status: 'succeeded', scheduleId: id, result: { text: 'nightly report done' } })
    await waitFor('the schedule to hear its run ended', async () => (await firings(id))[0]?.status === 'succeeded')

    const after = (await api(`/v1/schedules/${id}`)).body
    expect(after).toMatchObject({ state: 'active', consecutiveFailures: 0, lastFiredAt: firing!.firedAt })
    // Once a year: the next firing is next year's.
    expect(Date.parse(after.nextRunAt as string)).toBeGreaterThan(nextRunAt + 300 * 86_400_000)
    expect((await api(`/v1/schedules/${id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await api(`/v1/schedules/${id}`)).status).toBe(404)
  })

  it('pauses itself after three failed runs in a row and says why; resuming starts the count again', async () => {
    // Every second, on a repository that does not exist: each run fails at its clone, one after another.
    const created = await api('/v1/schedules', {
      body: { cron: '* * * * * *', run: { prompt: 'check the build', repo: { url: join(repo, 'missing') } } },
    })
    expect(created.status).toBe(201)
    const id = created.body.id as string
    const paused = await waitFor('the schedule to pause itself', async () => {
      const s = (await api(`/v1/schedules/${id}`)).body
      return s.state === 'paused' ? s : undefined
    })
    expect(paused).toMatchObject({ consecutiveFailures: 3, nextRunAt: null, pausedReason: expect.stringContaining('3 runs in a row') })
    // One run at a time: the three that failed, and no other.
    const items = await firings(id)
    expect(items.map((f) => f.status)).toEqual(['failed', 'failed', 'failed'])
    for (const f of items) {
      const run = (await api(`/v1/runs/${f.runId}`)).body
      expect(run).toMatchObject({ status: 'failed', scheduleId: id, error: { code: 'clone_failed' } })
    }

    const resumed = await api(`/v1/schedules/${id}/resume`, { method: 'POST' })
    expect(resumed.status).toBe(200)
    expect(resumed.body).toMatchObject({ state: 'active', consecutiveFailures: 0 })
    expect(resumed.body.pausedReason).toBeUndefined()
    const byHand = await api(`/v1/schedules/${id}/pause`, { method: 'POST' })
    expect(byHand.body).toMatchObject({ state: 'paused', pausedReason: 'paused by request', nextRunAt: null })
    expect((await api(`/v1/schedules/${id}`, { method: 'DELETE' })).status).toBe(204)
  })

  it('refuses a cron expression or time zone that cannot fire, saying which', async () => {
    const run = { prompt: 'hi' }
    const badCron = await api('/v1/schedules', { body: { cron: '0 9 * *', run } })
    expect(badCron.status).toBe(400)
    expect(badCron.body.error).toMatchObject({ code: 'validation_failed', details: [{ path: 'json.cron' }] })
    const badZone = await api('/v1/schedules', { body: { cron: '0 9 * * *', timezone: 'Mars/Olympus', run } })
    expect(badZone.body.error).toMatchObject({ code: 'validation_failed', details: [{ path: 'json.timezone' }] })
    const never = await api('/v1/schedules', { body: { cron: '0 0 30 2 *', run } })
    expect(never.body.error.message).toContain('never fires')
    const badRun = await api('/v1/schedules', { body: { cron: '0 9 * * *', run: { prompt: 'hi', callback: { url: 'http://10.0.0.1/x' } } } })
    expect(badRun.status).toBe(400)
  })

  it('changes its time with PATCH, counted from now, in its time zone', async () => {
    const created = await api('/v1/schedules', { body: { cron: '0 9 * * *', timezone: 'Europe/Berlin', run: { prompt: 'hi' }, paused: true } })
    expect(created.body).toMatchObject({ state: 'paused', nextRunAt: null })
    const id = created.body.id as string
    const resumed = (await api(`/v1/schedules/${id}/resume`, { method: 'POST' })).body
    // 09:00 in Berlin is 07:00 or 08:00 UTC, whichever the season.
    expect(new Date(resumed.nextRunAt as string).getUTCHours()).toBeOneOf([7, 8])
    const changed = await api(`/v1/schedules/${id}`, { method: 'PATCH', body: { cron: '30 18 * * *', timezone: 'Asia/Tokyo' } })
    expect(changed.status).toBe(200)
    expect(changed.body).toMatchObject({ cron: '30 18 * * *', timezone: 'Asia/Tokyo' })
    expect(new Date(changed.body.nextRunAt as string).toISOString()).toMatch(/T09:30:00\.000Z$/)
    const list = (await api('/v1/schedules')).body.items as Json[]
    expect(list.map((s) => s.id)).toContain(id)
    expect((await api(`/v1/schedules/${id}`, { method: 'DELETE' })).status).toBe(204)
  })
})

describe('schedules of a hostile tenant', () => {
  const [mine, other] = [TEST_KEYS[1], TEST_KEYS[0]]

  it("never shows a schedule's model keys, nor another tenant's schedule", async () => {
    const secret = 'sk-schedule-secret-0123456789'
    const created = await api('/v1/schedules', {
      key: mine,
      body: { cron: '0 3 * * *', run: { prompt: 'nightly', modelKeys: { openai: secret } }, paused: true },
    })
    expect(created.status).toBe(201)
    expect(created.body.run.modelKeys).toEqual(['openai'])
    const id = created.body.id as string
    for (const res of [created, await api(`/v1/schedules/${id}`, { key: mine }), await api('/v1/schedules', { key: mine })]) {
      expect(JSON.stringify(res.body)).not.toContain(secret)
    }
    for (const [method, path] of [
      ['GET', `/v1/schedules/${id}`],
      ['GET', `/v1/schedules/${id}/runs`],
      ['POST', `/v1/schedules/${id}/resume`],
      ['DELETE', `/v1/schedules/${id}`],
    ] as const) {
      const res = await api(path, { method, key: other })
      expect(res.status, `${method} ${path}`).toBe(404)
    }
    const patched = await api(`/v1/schedules/${id}`, { method: 'PATCH', key: other, body: { cron: '* * * * * *' } })
    expect(patched.status).toBe(404)
    expect((await api('/v1/schedules', { key: other })).body.items.map((s: Json) => s.id)).not.toContain(id)
    expect((await api(`/v1/schedules/${id}`, { key: mine })).body).toMatchObject({ state: 'paused', cron: '0 3 * * *' })
    expect((await api(`/v1/schedules/${id}`, { method: 'DELETE', key: mine })).status).toBe(204)
  })

  it('keeps a tenant to MAX_SCHEDULES_PER_TENANT schedules (20)', async () => {
    const make = () => api('/v1/schedules', { key: mine, body: { cron: '0 3 * * *', run: { prompt: 'x' }, paused: true } })
    const made: string[] = []
    for (let i = 0; i < 20; i++) {
      const res = await make()
      expect(res.status).toBe(201)
      made.push(res.body.id as string)
    }
    const refused = await make()
    expect(refused.status).toBe(429)
    expect(refused.body.error).toMatchObject({ code: 'too_many_requests', message: expect.stringContaining('at most 20') })
    for (const id of made) expect((await api(`/v1/schedules/${id}`, { method: 'DELETE', key: mine })).status).toBe(204)
    expect((await make()).status).toBe(201)
    const [last] = (await api('/v1/schedules', { key: mine })).body.items as Json[]
    await api(`/v1/schedules/${last!.id}`, { method: 'DELETE', key: mine })
  })
})
