import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOwnStack, type OwnStack } from '../helpers/own-stack'
import { api } from './helpers'

/** A deployment without SECRETS_KEY: it cannot keep secrets, so it must not take them. */
let own: OwnStack

beforeAll(async () => {
  own = await startOwnStack('no-secrets-key', { SECRETS_KEY: '' }, { scriptedModel: true })
})

afterAll(async () => {
  await own?.close()
})

describe('without SECRETS_KEY', () => {
  it('refuses sessions that bring secrets or a repository token, naming the setting', async () => {
    for (const body of [
      { secrets: { API_TOKEN: 'canary' } },
      { repo: { url: 'https://github.com/o/r.git', token: 'ghp_canary' } },
    ]) {
      const res = await api('/v1/sessions', { body })
      expect(res.status).toBe(503)
      expect(res.body.error.code).toBe('misconfigured')
      expect(res.body.error.message).toContain('SECRETS_KEY')
      expect(JSON.stringify(res.body)).not.toContain('canary')
    }
    expect((await api('/v1/sessions')).body.items).toEqual([])
  })

  it('still makes sessions that bring none', async () => {
    const res = await api('/v1/sessions', { body: { secrets: {} } })
    expect(res.status).toBe(201)
    expect((await api(`/v1/sessions/${res.body.id}`, { method: 'DELETE' })).body.status).toBe('ended')
  })
})

describe('without a GitHub credential', () => {
  it('refuses a run that asks for a pull request, naming what is missing, and starts nothing', async () => {
    const before = (await api('/v1/sessions')).body.items.length
    const res = await api('/v1/runs', { body: { prompt: 'x', repo: { url: 'https://github.com/o/r.git' }, output: { pullRequest: {} } } })
    expect(res.status).toBe(503)
    expect(res.body.error.code).toBe('misconfigured')
    expect(res.body.error.details.missing.length).toBeGreaterThan(0)
    expect(res.body.error.message).toContain(res.body.error.details.missing[0])
    expect((await api('/v1/sessions')).body.items).toHaveLength(before)
  })
})
