// @ts-check
// Which buttons work now, from the key and the session's state; called after anything changes them.
import { $, button } from '../dom.js'
import { log } from './log.js'
import { tab } from './state.js'

export function refreshControls() {
  const hasKey = Boolean(tab.apiKey)
  const live = Boolean(tab.sessionId) && !tab.ended
  const usable = live && hasKey
  // Undo, redo and forks need an idle session: opencode cannot revert under a running turn, and a
  // fork copies a session at rest.
  const atRest = usable && tab.status === 'idle'
  button('start').disabled = !hasKey
  for (const id of ['message', 'send', 'attach', 'show-diff', 'show-terminal']) /** @type {HTMLButtonElement | HTMLTextAreaElement} */ ($(id)).disabled = !usable
  button('abort').disabled = !live || tab.status !== 'busy'
  button('end').disabled = !live
  button('leave').disabled = !tab.sessionId
  button('sessions-refresh').disabled = !hasKey
  for (const b of log().querySelectorAll('button.undo, button.fork')) /** @type {HTMLButtonElement} */ (b).disabled = !atRest
  button('fork').disabled = !atRest
  button('redo').disabled = !atRest
  $('forget-key').hidden = !hasKey
  $('key-state').textContent = hasKey
    ? 'Key set for this tab (sessionStorage); sent only in the Authorization header.'
    : 'Kept in this tab only (sessionStorage) and sent only in the Authorization header.'
}
