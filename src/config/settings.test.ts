import { describe, expect, it } from 'vitest'
import type { Bindings } from '../env'
import { costCapProblems, readSettings } from './settings'

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
