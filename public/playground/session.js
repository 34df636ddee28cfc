// @ts-check
// Which session this tab shows. Showing one replays its events from the first (that rebuilds the
// whole conversation), then follows live ones without a gap: after a reload, on reopening one from
// the tenant's list, and for one this page just started or forked.
import { $ } from '../dom.js'
import { call } from './api.js'
import { refreshControls } from './controls.js'
import { closeDiff } from './diff-panel.js'
import { closeTerminal } from './terminal-pane.js'
import { clearPending } from './composer.js'
import { clearLog } from './log.js'
import { notice } from './page.js'
import { resetRendered } from './render/index.js'
import { showStatus } from './render/session.js'
import { initialTodos } from './render/todo.js'
import { loadSessions, markCurrent } from './sessions-list.js'
import { forgetSession, keepSession, savedSession, startOver, tab } from './state.js'
import { closeStream, openStream } from './stream.js'

/** The view of no session: nothing rendered, nothing pending. */
function resetView() {
  resetRendered()
  clearPending()
  closeDiff()
  closeTerminal()
  clearLog()
  startOver()
  $('last-event-id').textContent = '0'
  $('session-title').textContent = '–'
}

/** @param {string} id */
function show(id) {
  keepSession(id)
  $('session-id').textContent = id
  markCurrent()
  refreshControls()
  openStream()
  loadFacts(id)
}

/** What the session says of itself now: the todo list, until the stream brings a newer one. @param {string} id */
async function loadFacts(id) {
  try {
    const s = await call('GET', `/v1/sessions/${encodeURIComponent(id)}`)
    if (id === tab.sessionId) initialTodos(s.todos || [])
  } catch { /* the stream says what is wrong with the session */ }
}

/** Shows a session this page just made (started or forked), from its first event. @param {{ id: string, status: import('./state.js').Status }} session */
export function switchTo(session) {
  closeStream()
  resetView()
  showStatus(session.status)
  show(session.id)
  loadSessions()
  $('message').focus()
}

/** Shows another of the tenant's sessions. @param {string} id */
export function reopen(id) {
  if (id === tab.sessionId) return
  notice('')
  closeStream()
  resetView()
  show(id)
}

/** Stops showing the session; it keeps running. */
export function leave() {
  closeStream()
  forgetSession()
  resetView()
  $('session-id').textContent = '–'
  markCurrent()
  refreshControls()
  loadSessions()
}

/** Picks up the session this tab showed before a reload, once there is a key to read it with. */
export function resume() {
  resetView()
  refreshControls()
  loadSessions()
  const saved = savedSession()
  if (!saved) return
  $('session-id').textContent = saved
  keepSession(saved)
  refreshControls()
  if (tab.apiKey) {
    openStream()
    loadFacts(saved)
  } else notice('Paste the API key again to reconnect to the session of this tab.')
}
