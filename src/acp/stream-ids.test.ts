import { describe, expect, it } from 'vitest'
import { tagRequest, untagAnswer } from './stream-ids'

describe('request ids of a stream to the bridge', () => {
  it('tags our requests and takes back the answers to them with their own ids', () => {
    const sent = tagRequest({ jsonrpc: '2.0', id: 2, method: 'session/prompt', params: {} }, 's1')
    expect(sent).toMatchObject({ id: 's1:2', method: 'session/prompt' })
    expect(untagAnswer({ jsonrpc: '2.0', id: 's1:2', result: { stopReason: 'end_turn' } }, 's1')).toEqual({ jsonrpc: '2.0', id: 2, result: { stopReason: 'end_turn' } })
  })

  it('drops an answer to another stream’s request, even one of the same number', () => {
    expect(untagAnswer({ jsonrpc: '2.0', id: 's0:2', result: { stopReason: 'end_turn' } }, 's1')).toBeUndefined()
    expect(untagAnswer({ jsonrpc: '2.0', id: 2, result: {} }, 's1')).toBeUndefined()
  })

  it('leaves the agent’s own requests, notifications and our answers to them as they are', () => {
    const asked = { jsonrpc: '2.0' as const, id: 7, method: 'session/request_permission', params: {} }
    const update = { jsonrpc: '2.0' as const, method: 'session/update', params: {} }
    const answer = { jsonrpc: '2.0' as const, id: 7, result: { outcome: { outcome: 'cancelled' } } }
    expect(untagAnswer(asked, 's1')).toBe(asked)
    expect(untagAnswer(update, 's1')).toBe(update)
    expect(tagRequest(answer, 's1')).toBe(answer)
    expect(tagRequest(update, 's1')).toBe(update)
  })
})
