// @ts-check
// The conversation's messages: created, written delta by delta, completed. A sub-agent's
// messages show in its box (subagent.js), not in the main conversation.
import { el } from '../../dom.js'
import { size } from '../attachments.js'
import { append } from '../log.js'
import { settleUndo } from './revert.js'
import { subagentBody } from './subagent.js'

/** @template {import('../types.js').EventType} K @typedef {import('../types.js').EventData<K>} EventData */
/** @typedef {import('./subagent.js').Subagent} Subagent */
/** @typedef {'text' | 'reasoning'} PartKind */
/** @typedef {{ node: HTMLElement, parts: Map<string, { node: HTMLElement, kind: PartKind }>, done: boolean }} MessageView */

/** @type {Map<string, MessageView>} */
const messages = new Map()

/**
 * A message's bubble, made on its first mention, whichever event that is.
 * @param {string} messageId @param {'user' | 'assistant'} role @param {Subagent} [subagent]
 */
export function messageView(messageId, role, subagent) {
  const known = messages.get(messageId)
  if (known) return known
  const node = el('div', { class: `msg ${role}`, 'data-message-id': messageId, 'data-role': role })
  node.append(el('span', { class: 'who', text: role === 'user' ? 'you' : subagent ? subagent.agent : 'agent' }))
  /** @type {MessageView} */
  const m = { node, parts: new Map(), done: false }
  messages.set(messageId, m)
  if (subagent) subagentBody(subagent).append(node)
  else append(node)
  return m
}

/** @param {MessageView} m @param {string} partId @param {PartKind} kind */
function partView(m, partId, kind) {
  const known = m.parts.get(partId)
  if (known) return known
  const node = el('span', { class: kind === 'reasoning' ? 'reasoning' : 'text', 'data-part-id': partId })
  const p = { node, kind }
  m.parts.set(partId, p)
  // text parts go before any tool cards of the message, reasoning before the text
  const firstTool = m.node.querySelector('.tool')
  m.node.insertBefore(node, kind === 'reasoning' ? m.node.querySelector('.text') || firstTool : firstTool)
  return p
}

/** @param {MessageView} m */
function textOf(m) {
  let t = ''
  for (const p of m.parts.values()) if (p.kind === 'text') t += p.node.textContent
  return t
}

/** @param {EventData<'message.created'>} data */
export function messageCreated(data) {
  const fresh = !messages.has(data.messageId)
  // A new message of the user's makes an earlier undo final: what it hid stays gone.
  if (fresh && data.role === 'user' && !data.subagent) settleUndo()
  const m = messageView(data.messageId, data.role, data.subagent)
  if (data.role === 'user' && data.text !== undefined && !m.parts.size) partView(m, 'user', 'text').node.textContent = data.text
  if (data.role === 'user' && fresh) userExtras(m, data)
  // A steered message runs before the messages that were waiting: it is shown there too.
  const overtaken = data.before && messages.get(data.before)
  if (fresh && overtaken) overtaken.node.before(m.node)
  if (data.role === 'assistant' && !m.done) m.node.classList.add('streaming')
}

/**
 * Under a user message: the files sent with it (names and sizes; the API keeps no bytes to show),
 * and the buttons that undo or fork from it (main.js answers their clicks).
 * @param {MessageView} m @param {EventData<'message.created'>} data
 */
function userExtras(m, data) {
  if (data.attachments && data.attachments.length) {
    m.node.append(el('ul', { class: 'msg-files' }, ...data.attachments.map((a) =>
      el('li', { 'data-filename': a.filename, 'data-mime': a.mime, text: `📎 ${a.filename} (${a.mime}, ${size(a.size)})` }))))
  }
  if (data.subagent) return
  m.node.append(
    el('button', { type: 'button', class: 'link undo', title: 'Take the conversation and the workspace back to before this message', text: 'Undo from here' }),
    el('button', { type: 'button', class: 'link fork', title: 'A new session with the conversation up to this turn and a copy of the workspace', text: 'Fork from here' }))
}

/** @param {EventData<'message.delta'>} data */
export function messageDelta(data) {
  const m = messageView(data.messageId, 'assistant', data.subagent)
  if (m.done) return
  m.node.classList.add('streaming')
  partView(m, data.partId, data.kind).node.append(data.text)
}

/** @param {EventData<'message.completed'>} data */
export function messageCompleted(data) {
  const m = messageView(data.messageId, data.role, data.subagent)
  m.done = true
  m.node.classList.remove('streaming')
  m.node.dataset.completed = 'true'
  // The completed text is the whole reply: it also fills in deltas the log compacted away.
  if (data.text && textOf(m) !== data.text) {
    for (const [id, p] of m.parts) if (p.kind === 'text') { p.node.remove(); m.parts.delete(id) }
    partView(m, 'final', 'text').node.textContent = data.text
    m.node.dataset.filled = 'true'
  }
  if (data.error) m.node.append(el('span', { class: 'msg-error', text: `${data.error.code}: ${data.error.message}` }))
}

export function resetMessages() {
  messages.clear()
}
