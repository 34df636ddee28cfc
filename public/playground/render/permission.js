// @ts-check
// The agent asks to use a tool: allow once, always, or reject.
import { el } from '../../dom.js'
import { answer, askCard, resolveAsk } from './ask.js'

/** @param {import('../types.js').EventData<'permission.requested'>} data */
export function permissionRequested(data) {
  const a = askCard('permission', data.permissionId, `The agent asks to use ${data.permission}`)
  const meta = /** @type {Record<string, unknown>} */ (data.metadata || {})
  const detail = meta.command || data.patterns.join('\n') || JSON.stringify(meta)
  if (detail) a.node.append(el('pre', { text: String(detail) }))
  /** @param {string} reply @param {string} text */
  const button = (reply, text, primary = false) =>
    el('button', { type: 'button', class: primary ? 'primary' : undefined, 'data-reply': reply, text, onclick: () => answer(a, 'permission', data.permissionId, { reply }) })
  a.node.append(el('div', { class: 'buttons' }, button('once', 'Allow once', true), button('always', 'Always allow'), button('reject', 'Reject')))
}

/** @param {import('../types.js').EventData<'permission.resolved'>} data */
export function permissionResolved(data) {
  resolveAsk('permission', data.permissionId, `answered: ${data.reply}${data.reason ? ` (${data.reason})` : ''}`)
}
