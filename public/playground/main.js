// @ts-check
// The playground: plain ES modules against the API of this same origin, no build step. This
// module wires the page's controls to the parts and starts where this tab left off.
// - The API key lives in memory and this tab's sessionStorage, and goes only into Authorization headers (api.js).
// - The event stream is an EventSource on a short-lived session token (stream.js); each event is
//   drawn by the renderer of its kind (render/).
import { $, input } from '../dom.js'
import { abort, end, fork, redo, start, undo } from './actions.js'
import { initComposer } from './composer.js'
import { refreshControls } from './controls.js'
import { closeDiff, showDiff } from './diff-panel.js'
import { closeTerminal, openTerminal } from './terminal-pane.js'
import { log, stickToBottom } from './log.js'
import { notice } from './page.js'
import { EVENT_TYPES, render } from './render/index.js'
import { leave, reopen, resume } from './session.js'
import { clearSessions, loadSessions } from './sessions-list.js'
import { forgetKey, keepKey, tab } from './state.js'
import { isOpen, listen, openStream } from './stream.js'

listen(EVENT_TYPES, (type, data) => {
  $('last-event-id').textContent = String(tab.lastSeq)
  render(type, data)
  refreshControls()
  stickToBottom()
})

$('key-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const value = input('api-key').value.trim()
  if (!value) return
  keepKey(value)
  input('api-key').value = ''
  notice('')
  refreshControls()
  loadSessions()
  if (tab.sessionId && !isOpen() && !tab.ended) openStream()
})
$('forget-key').addEventListener('click', () => {
  forgetKey()
  clearSessions()
  refreshControls()
})

$('start-form').addEventListener('submit', (e) => {
  e.preventDefault()
  start()
})
$('sessions-refresh').addEventListener('click', () => loadSessions())
$('sessions-more').addEventListener('click', () => loadSessions(true))
// The tenant's list draws its items; opening one is the session switching's.
$('sessions').addEventListener('click', (e) => {
  const item = /** @type {Element} */ (e.target).closest('button.open-session')?.closest('li')
  if (item?.dataset.sessionId) reopen(item.dataset.sessionId)
})

// The undo and fork buttons under each user message: answered here, so that renderers only draw
// and never reach the session switching that a fork ends in.
log().addEventListener('click', (e) => {
  const b = /** @type {Element} */ (e.target).closest('button.undo, button.fork')
  const messageId = /** @type {HTMLElement | null} */ (b?.closest('.msg'))?.dataset.messageId
  if (!b || !messageId) return
  if (b.classList.contains('undo')) undo(messageId)
  else fork(messageId)
})

$('show-diff').addEventListener('click', showDiff)
$('diff-refresh').addEventListener('click', showDiff)
$('diff-close').addEventListener('click', closeDiff)
$('show-terminal').addEventListener('click', openTerminal)
$('terminal-close').addEventListener('click', closeTerminal)
$('redo').addEventListener('click', redo)
$('abort').addEventListener('click', abort)
$('end').addEventListener('click', end)
$('leave').addEventListener('click', leave)
$('fork').addEventListener('click', () => fork())

initComposer()
resume()
