import { describe, expect, it } from 'vitest'
import { checkpointVerdict, objectName, prunable, sessionPrefix } from './rules'

describe('checkpointVerdict', () => {
  it('keeps a checkpoint that holds something new within the limit', () => {
    expect(checkpointVerdict({ bytes: 100, maxBytes: 100, digest: 'b', lastDigest: 'a' })).toEqual({ action: 'keep' })
    expect(checkpointVerdict({ bytes: 1, maxBytes: 100, digest: 'b' })).toEqual({ action: 'keep' })
  })

  it('keeps no second copy of what the last one holds', () => {
    expect(checkpointVerdict({ bytes: 500, maxBytes: 100, digest: 'a', lastDigest: 'a' })).toEqual({ action: 'unchanged' })
  })

  it('keeps none for a session with nothing to keep yet, but keeps one that went back to nothing', () => {
    expect(checkpointVerdict({ bytes: 50, maxBytes: 100, digest: 'a', empty: true })).toEqual({ action: 'empty' })
    expect(checkpointVerdict({ bytes: 50, maxBytes: 100, digest: 'b', lastDigest: 'a', empty: true })).toEqual({ action: 'keep' })
  })

  it('refuses one over the limit, naming the setting', () => {
    const verdict = checkpointVerdict({ bytes: 101, maxBytes: 100, digest: 'b', lastDigest: 'a' })
    expect(verdict.action).toBe('too_large')
    expect(verdict.action === 'too_large' && verdict.message).toContain('CHECKPOINT_MAX_BYTES')
  })
})

describe('prunable', () => {
  it('names all but the newest', () => {
    expect(prunable([1, 2, 3, 4], 2)).toEqual([2, 1])
    expect(prunable([3, 1], 2)).toEqual([])
  })
})

describe('object names', () => {
  it('lie under one prefix per session', () => {
    expect(objectName('ses_a', 3, 'agent')).toBe('sessions/ses_a/checkpoints/3/agent')
    expect(objectName('ses_a', 3, 'agent').startsWith(sessionPrefix('ses_a'))).toBe(true)
    expect(objectName('ses_ab', 1, 'workspace').startsWith(sessionPrefix('ses_a'))).toBe(false)
  })
})
