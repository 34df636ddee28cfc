// @ts-check
// A tool call as a card in its message: name, state, title, input and output, updated in place.
import { el } from '../../dom.js'
import { messageView } from './message.js'
import { adoptSubagent } from './subagent.js'

/** @type {Map<string, HTMLElement>} */
const cards = new Map()

/** @param {import('../types.js').EventData<'tool.updated'>} data */
function cardOf(data) {
  const known = cards.get(data.callId)
  if (known) return known
  const node = el('div', { class: 'tool', 'data-call-id': data.callId, 'data-tool': data.tool },
    el('header', {},
      el('span', { class: 'tool-name', text: data.tool }),
      el('span', { class: 'badge tool-state' }),
      el('span', { class: 'tool-title' })),
    el('pre', { class: 'tool-input', hidden: true }),
    el('pre', { class: 'tool-output', hidden: true }))
  messageView(data.messageId, 'assistant', data.subagent).node.append(node)
  cards.set(data.callId, node)
  adoptSubagent(data.callId, node)
  return node
}

/** @param {HTMLElement} card @param {string} selector */
const part = (card, selector) => /** @type {HTMLElement} */ (card.querySelector(selector))

/** @param {HTMLElement} card @param {string} selector @param {string} text */
function show(card, selector, text) {
  const pre = part(card, selector)
  pre.hidden = false
  pre.textContent = text
}

/** @param {import('../types.js').EventData<'tool.updated'>} data */
export function toolUpdated(data) {
  const card = cardOf(data)
  const badge = part(card, '.tool-state')
  badge.textContent = data.state
  badge.dataset.v = data.state
  card.dataset.state = data.state
  if (data.title) part(card, '.tool-title').textContent = data.title
  const input = /** @type {Record<string, unknown> | null | undefined} */ (data.input)
  if (input && Object.keys(input).length) show(card, '.tool-input', input.command !== undefined ? `$ ${input.command}` : JSON.stringify(input, null, 2))
  if (data.output !== undefined) show(card, '.tool-output', data.output)
}

export function resetTools() {
  cards.clear()
}
