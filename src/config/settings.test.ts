import { describe, expect, it } from 'vitest'
import type { Bindings } from '../env'
import { MAX_FILE_BYTES } from '../sandbox/file-content'
import { checkpointMaxBytes, checkpointsOff, costCapProblems, DEFAULT_CHECKPOINT_MAX_BYTES, readSettings } from './settings'

describe('tenant cost caps', () => {
  it('reads the daily and monthly caps, and names a malformed one', () => {
    const env = { TENANT_MAX_COST_USD_PER_DAY: '5', TENANT_MAX_COST_USD_PER_MONTH: '100' } as unknown as Bindings
    expect(readSettings(env)).toMatchObject({ tenantMaxCostPerDay: 5, tenantMaxCostPerMonth: 100 })
    expect(costCapProblems(env)).toEqual([])
    const bad = { TENANT_MAX_COST_USD_PER_MONTH: 'lots' } as unknown as Bindings
    expect(costCapProblems(bad)).toEqual(['TENANT_MAX_COST_USD_PER_MONTH is not a positive number of USD; that cap has no bound until it is'])
    expect(costCapProblems({} as Bindings)).toEqual([])
  })
})

describe('checkpoints', () => {
  const KEY = 'a-random-secrets-key-of-32-characters-at-least'
  const bucket = {} as R2Bucket

  it('are on with their bucket and SECRETS_KEY, and off without either, saying which', () => {
    expect(checkpointsOff({ CHECKPOINTS: bucket, SECRETS_KEY: KEY } as Bindings)).toBeUndefined()
    expect(checkpointsOff({ SECRETS_KEY: KEY } as Bindings)).toContain('CHECKPOINTS')
    expect(checkpointsOff({ CHECKPOINTS: bucket, SECRETS_KEY: 'short' } as Bindings)).toContain('SECRETS_KEY')
  })

  it('hold 8 MiB by default, at most 10 MiB, and a malformed limit is named', () => {
    expect(checkpointMaxBytes({} as Bindings)).toEqual({ value: DEFAULT_CHECKPOINT_MAX_BYTES })
    expect(checkpointMaxBytes({ CHECKPOINT_MAX_BYTES: '65536' } as Bindings)).toEqual({ value: 65536 })
    expect(checkpointMaxBytes({ CHECKPOINT_MAX_BYTES: 'lots' } as Bindings)).toMatchObject({ value: DEFAULT_CHECKPOINT_MAX_BYTES, error: expect.stringContaining('CHECKPOINT_MAX_BYTES') })
    expect(checkpointMaxBytes({ CHECKPOINT_MAX_BYTES: String(64 * 2 ** 20) } as Bindings)).toMatchObject({ value: MAX_FILE_BYTES, error: expect.stringContaining('10 MiB') })
    expect(readSettings({ CHECKPOINT_MAX_BYTES: '1000' } as Bindings).checkpointMaxBytes).toBe(1000)
  })
})
