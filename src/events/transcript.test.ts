import { describe, expect, it } from 'vitest'
import { event, type PublicEvent } from '../contracts'
import { transcriptOf } from './transcript'

const SUBAGENT = { sessionId: 'ses_sub', callId: 'call_task', agent: 'general' }

/** One turn as the log holds it: the user's message, the reply opened, its tools, the reply completed. */
function turn(n: number, user: string, reply: string, tools: { callId: string; tool: string; state: 'completed' | 'error' | 'running'; title?: string; input?: unknown }[] = []): PublicEvent[] {
  const messageId = `msg_a${n}`
  return [
    event('message.created', { messageId: `msg_u${n}`, role: 'user', text: user }),
    event('message.completed', { messageId: `msg_u${n}`, role: 'user', text: user }),
    event('message.created', { messageId, role: 'assistant', parentId: `msg_u${n}` }),
    ...tools.map((t) => event('tool.updated', { messageId, ...t })),
    event('message.completed', { messageId, role: 'assistant', text: reply, parentId: `msg_u${n}` }),
  ]
}

const bytes = (text: string) => new TextEncoder().encode(text).length

describe('transcriptOf', () => {
  it("holds each answered turn in order: the user's message, the agent's tools one line each, its reply", () => {
    const events = [
      ...turn(1, 'PELICAN: write notes.txt', 'first done', [
        { callId: 'c1', tool: 'Write', state: 'running', title: 'Write notes.txt' },
        { callId: 'c1', tool: 'Write', state: 'completed', title: 'Write notes.txt' },
        { callId: 'c2', tool: 'Bash', state: 'error', input: { command: 'false' } },
      ]),
      ...turn(2, 'WALRUS: and now?', 'second done'),
    ]
    const text = transcriptOf(events, 64 * 1024)!
    expect(text).toMatch(/^<earlier-conversation>\n/)
    expect(text).toMatch(/<\/earlier-conversation>\n$/)
    expect(text).toContain('User: PELICAN: write notes.txt\nYou:\n  [tool Write: Write notes.txt]\n  [tool Bash: {"command":"false"} (failed)]\nfirst done\n')
    expect(text.indexOf('PELICAN')).toBeLessThan(text.indexOf('WALRUS'))
    // One line per tool call, however many updates it had.
    expect(text.match(/tool Write/g)).toHaveLength(1)
    expect(text).not.toContain('left out')
  })

  it('leaves out a turn not answered yet (the message about to be sent) and a sub-agent’s messages and tools', () => {
    const events = [
      ...turn(1, 'first question', 'first answer', [{ callId: 'task', tool: 'task', state: 'completed', title: 'explore' }]),
      event('message.created', { messageId: 'msg_sub', role: 'assistant', parentId: 'msg_u1', subagent: SUBAGENT }),
      event('tool.updated', { messageId: 'msg_sub', callId: 'c9', tool: 'grep', state: 'completed', title: 'SUBAGENT-TOOL', subagent: SUBAGENT }),
      event('message.completed', { messageId: 'msg_sub', role: 'assistant', text: 'SUBAGENT-REPLY', parentId: 'msg_u1', subagent: SUBAGENT }),
      event('message.created', { messageId: 'msg_u2', role: 'user', text: 'WAITING' }),
    ]
    const text = transcriptOf(events, 64 * 1024)!
    expect(text).toContain('first answer')
    expect(text).toContain('[tool task: explore]')
    expect(text).not.toContain('WAITING')
    expect(text).not.toContain('SUBAGENT')
  })

  it('says how a turn that ended with an error ended', () => {
    const events = turn(1, 'slow one', 'half a reply')
    const completed = events.at(-1)!
    const failed = { ...completed, data: { ...completed.data, error: { code: 'aborted', message: 'the turn was aborted' } } } as PublicEvent
    expect(transcriptOf([...events.slice(0, -1), failed], 4096)).toContain('half a reply\n  [the turn ended with an error: the turn was aborted]')
  })

  it('is nothing before a turn was answered', () => {
    expect(transcriptOf([], 4096)).toBeUndefined()
    expect(transcriptOf([event('message.created', { messageId: 'msg_u1', role: 'user', text: 'hello' })], 4096)).toBeUndefined()
  })

  it('drops the oldest turns first to stay within its bytes, and says how many it dropped', () => {
    const events = Array.from({ length: 30 }, (_, i) => turn(i, `question ${i} ${'x'.repeat(200)}`, `answer ${i} ${'é'.repeat(100)}`)).flat()
    const whole = transcriptOf(events, 1_000_000)!
    const max = 4096
    const text = transcriptOf(events, max)!
    expect(bytes(whole)).toBeGreaterThan(max)
    expect(bytes(text)).toBeLessThanOrEqual(max)
    const kept = text.match(/^User: question \d+/gm)!.map((l) => Number(l.split(' ').at(-1)))
    // The newest turns, in order, without a gap up to the last.
    expect(kept.at(-1)).toBe(29)
    expect(kept).toEqual(kept.map((_, i) => 30 - kept.length + i))
    expect(text).toContain(`(The ${30 - kept.length} oldest turns are left out, to keep this short.)`)
    expect(text).toMatch(/<\/earlier-conversation>\n$/)
  })

  it('cuts a newest turn too long alone rather than give nothing, and stays within its bytes', () => {
    const events = [...turn(1, 'old', 'old answer'), ...turn(2, `long ${'€'.repeat(5000)}`, 'never reached')]
    const text = transcriptOf(events, 2048)!
    expect(bytes(text)).toBeLessThanOrEqual(2048)
    expect(text).toContain('User: long €€€')
    expect(text).toContain('(The oldest turn is left out, to keep this short.)')
    expect(text).not.toContain('\uFFFD')
    expect(text).not.toContain('never reached')
  })
})
