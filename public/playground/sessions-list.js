// @ts-check
// The tenant's sessions (GET /v1/sessions), a page at a time, the one this tab shows marked.
// main.js opens the one clicked.
import { $, el } from '../dom.js'
import { call } from './api.js'
import { fail } from './page.js'
import { tab } from './state.js'

/** where the next page starts; null after the last */
/** @type {string | null} */
let cursor = null

/** @param {boolean} [more] the next page, after those shown */
export async function loadSessions(more = false) {
  if (!tab.apiKey) return
  try {
    const query = more && cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
    const page = await call('GET', `/v1/sessions?limit=20${query}`)
    if (!more) $('sessions').replaceChildren()
    $('sessions').append(...page.items.map(sessionItem))
    cursor = page.nextCursor
    $('sessions-more').hidden = !cursor
    $('sessions-empty').textContent = 'No sessions yet.'
    $('sessions-empty').hidden = $('sessions').children.length > 0
    markCurrent()
  } catch (err) {
    fail(err)
  }
}

/** @param {{ id: string, title: string | null, status: string, createdAt: string }} s */
function sessionItem(s) {
  return el('li', { 'data-session-id': s.id },
    el('button', { type: 'button', class: 'link open-session', title: s.id, text: s.title || s.id }),
    el('span', { class: 'badge', 'data-v': s.status, text: s.status }),
    el('span', { class: 'muted when', text: new Date(s.createdAt).toLocaleString() }))
}

export function markCurrent() {
  for (const li of $('sessions').children) li.classList.toggle('current', /** @type {HTMLElement} */ (li).dataset.sessionId === tab.sessionId)
}

/** Without a key the list is not the reader's to see. */
export function clearSessions() {
  $('sessions').replaceChildren()
  $('sessions-more').hidden = true
  $('sessions-empty').hidden = false
}
