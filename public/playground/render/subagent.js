// @ts-check
// Where a sub-agent's messages and tools go: a box inside the task tool call that started it.
// Should the sub-agent speak before that call is shown, the box waits in the log and moves in
// with the call.
import { el } from '../../dom.js'
import { append, find } from '../log.js'

/** @typedef {NonNullable<import('../types.js').EventData<'message.created'>['subagent']>} Subagent */

/** per task tool call: the sub-agent's box and the body its messages go in */
/** @type {Map<string, { node: HTMLElement, body: HTMLElement }>} */
const boxes = new Map()

/** @param {Subagent} sub */
export function subagentBody(sub) {
  const known = boxes.get(sub.callId)
  if (known) return known.body
  const body = el('div', { class: 'subagent-body' })
  const node = el('div', { class: 'subagent', 'data-parent-call': sub.callId, 'data-subagent-session': sub.sessionId, 'data-agent': sub.agent },
    el('div', { class: 'subagent-head', text: `sub-agent: ${sub.agent}` }), body)
  boxes.set(sub.callId, { node, body })
  const call = find('.tool', 'call-id', sub.callId)
  if (call) call.append(node)
  else append(node)
  return body
}

/** A task call just shown takes in the box its sub-agent already filled. @param {string} callId @param {HTMLElement} callNode */
export function adoptSubagent(callId, callNode) {
  const waiting = boxes.get(callId)
  if (waiting) callNode.append(waiting.node)
}

export function resetSubagents() {
  boxes.clear()
}
