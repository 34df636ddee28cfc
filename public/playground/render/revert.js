// @ts-check
// Undo and redo: the reverted message and everything after it greyed out while a redo (POST
// /unrevert) can bring them back; hidden for good once the user sends a new message.
import { $ } from '../../dom.js'
import { find } from '../log.js'
import { diffLater } from '../diff-panel.js'

/** the nodes the last undo hid, while a redo can still bring them back */
/** @type {Element[] | null} */
let undone = null

/** @param {boolean} shown */
const undoBar = (shown) => { $('undo-bar').hidden = !shown }

/** @param {import('../types.js').EventData<'session.reverted'>} data */
export function sessionReverted(data) {
  /** @type {Element[]} */
  const nodes = []
  for (let n = find('.msg', 'message-id', data.messageId); n; n = n.nextElementSibling) {
    if (n.classList.contains('reverted')) continue
    n.classList.add('reverted')
    nodes.push(n)
  }
  undone = nodes
  undoBar(true)
  diffLater()
}

export function sessionUnreverted() {
  for (const n of undone ?? []) n.classList.remove('reverted')
  undone = null
  undoBar(false)
  diffLater()
}

/** A new message makes the last undo final: what it hid stays gone. */
export function settleUndo() {
  if (!undone) return
  for (const n of undone) /** @type {HTMLElement} */ (n).hidden = true
  undone = null
  undoBar(false)
}

export function resetRevert() {
  undone = null
  undoBar(false)
}
