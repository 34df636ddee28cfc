import { describe, expect, it } from 'vitest'
import { auditIds, idRanges } from './audit'

describe('auditIds', () => {
  it('passes ids that run without a hole from the first to the last', () => {
    expect(auditIds([4, 5, 6, 7], 4, 7)).toEqual({ received: 4, lost: [], duplicated: [], outOfOrder: [] })
  })

  it('counts a repeat across a reconnection as a duplicate, once per extra arrival', () => {
    expect(auditIds([1, 2, 3, 2, 3, 3, 4], 1, 4).duplicated).toEqual([2, 3, 3])
  })

  it('counts the ids missing at the start, in the middle and at the end as lost', () => {
    const audit = auditIds([2, 5, 6], 1, 8)
    expect(audit.lost).toEqual([1, 3, 4, 7, 8])
    expect(audit.duplicated).toEqual([])
  })

  it('tells an id that came late from one that came twice', () => {
    const audit = auditIds([1, 3, 2, 4], 1, 4)
    expect(audit).toMatchObject({ lost: [], duplicated: [], outOfOrder: [2] })
  })

  it('loses every owed id when nothing arrived', () => {
    expect(auditIds([], 1, 3)).toEqual({ received: 0, lost: [1, 2, 3], duplicated: [], outOfOrder: [] })
  })
})

describe('idRanges', () => {
  it('folds runs of ids into ranges', () => {
    expect(idRanges([9, 3, 4, 5, 7, 4])).toBe('3-5, 7, 9')
    expect(idRanges([])).toBe('')
  })
})
