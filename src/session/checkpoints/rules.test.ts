import { describe, expect, it } from 'vitest'
import { checkpointVerdict, forkMessageOf, objectName, prunable, saveFailedMessage, saveFailureIsNews, sessionPrefix, unreadableMessage } from './rules'

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

describe('a failed save', () => {
  it('is news while the sandbox is there, and not when its loss is said by recovery', () => {
    expect(saveFailureIsNews('running')).toBe(true)
    expect(saveFailureIsNews('agent_exited')).toBe(true)
    expect(saveFailureIsNews('gone')).toBe(false)
    expect(saveFailureIsNews('paused')).toBe(false)
    expect(saveFailureIsNews(undefined)).toBe(false)
  })

  it('says that the one before is kept and the next turn tries again, with our own reason only', () => {
    expect(saveFailedMessage('git exited with 3')).toContain('(git exited with 3)')
    expect(saveFailedMessage(undefined)).not.toContain('(')
    expect(saveFailedMessage(undefined)).toContain('next turn')
  })
})

describe('an unreadable checkpoint', () => {
  it('names SECRETS_KEY and damage as the causes', () => {
    expect(unreadableMessage(4)).toMatch(/^checkpoint 4 .*SECRETS_KEY.*damaged/)
  })
})

describe('forkMessageOf', () => {
  const list = [
    { checkpoint: 1, messageId: 'msg_a' },
    { checkpoint: 2, messageId: null },
    { checkpoint: 3, messageId: 'msg_c' },
    { checkpoint: 4, messageId: null },
  ]
  it("is the message of the checkpoint's turn", () => {
    expect(forkMessageOf(list, 3)).toBe('msg_c')
    expect(forkMessageOf(list, 1)).toBe('msg_a')
  })

  it('is that of the last turn before, for a checkpoint saved outside a turn', () => {
    expect(forkMessageOf(list, 2)).toBe('msg_a')
    expect(forkMessageOf(list, 4)).toBe('msg_c')
  })

  it('is none when no checkpoint up to it followed a turn', () => {
    expect(forkMessageOf([{ checkpoint: 1, messageId: null }], 1)).toBeUndefined()
  })
})
