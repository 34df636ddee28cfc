// @ts-check
// What the agent asks a human (a permission, a question): a card with buttons, answered through
// the API, and marked with its outcome once the session says it is resolved.
import { el } from '../../dom.js'
import { call, sessionPath, statusOf } from '../api.js'
import { append } from '../log.js'
import { fail } from '../page.js'

/** @typedef {'permission' | 'question'} AskKind */
/** @typedef {{ node: HTMLElement, resolved: boolean }} Ask */

/** @type {Map<string, Ask>} */
const asks = new Map()

/** @param {Ask} a @param {boolean} disabled */
function disableButtons(a, disabled) {
  for (const b of a.node.querySelectorAll('button')) b.disabled = disabled
}

/** @param {AskKind} kind @param {string} id @param {string} title @returns {Ask} */
export function askCard(kind, id, title) {
  const node = append(el('div', { class: `ask ${kind}`, [`data-${kind}-id`]: id }, el('header', {}, el('strong', { text: title }))))
  const a = { node, resolved: false }
  asks.set(`${kind}:${id}`, a)
  return a
}

/**
 * Sends the answer of a card's button; one answered elsewhere (404) is shown as such.
 * @param {Ask} a @param {AskKind} kind @param {string} id @param {unknown} body
 */
export async function answer(a, kind, id, body) {
  disableButtons(a, true)
  try {
    await call('POST', sessionPath(`/${kind}s/${encodeURIComponent(id)}`), body)
  } catch (err) {
    if (statusOf(err) === 404) resolveAsk(kind, id, 'already answered')
    else {
      fail(err)
      disableButtons(a, a.resolved)
    }
  }
}

/** @param {AskKind} kind @param {string} id @param {string} outcome */
export function resolveAsk(kind, id, outcome) {
  const a = asks.get(`${kind}:${id}`)
  if (!a || a.resolved) return
  a.resolved = true
  a.node.classList.add('resolved')
  a.node.dataset.outcome = outcome
  disableButtons(a, true)
  a.node.append(el('div', { class: 'outcome', text: outcome }))
}

export function resetAsks() {
  asks.clear()
}
