// @ts-check
// The session's own events: its status, its title and its end.
import { $, el } from '../../dom.js'
import { append } from '../log.js'
import { badge } from '../page.js'
import { tab } from '../state.js'
import { diffLater } from '../diff-panel.js'

/** @template {import('../types.js').EventType} K @typedef {import('../types.js').EventData<K>} EventData */

/** @param {import('../state.js').Status} status */
export function showStatus(status) {
  tab.status = status
  badge('session-status', status)
}

/** @param {EventData<'session.status'>} data */
export function sessionStatus(data) {
  showStatus(data.status)
  // A turn that ends may have changed the workspace.
  if (data.status === 'idle') diffLater()
  if (data.status === 'failed') append(el('div', { class: 'event-error', text: `session failed${data.reason ? `: ${data.reason}` : ''}` }))
}

/** @param {EventData<'session.updated'>} data */
export function sessionUpdated(data) {
  $('session-title').textContent = data.title
}

/** @param {EventData<'session.ended'>} data */
export function sessionEnded(data) {
  tab.ended = true
  showStatus('ended')
  append(el('div', { class: 'file-change', text: `session ended (${data.reason})` }))
}
