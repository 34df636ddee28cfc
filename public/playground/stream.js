// @ts-check
// The session's events. EventSource cannot send headers, so the stream opens on ?token= (a
// short-lived session token from POST /tokens) and reopens with a fresh one before it expires.
// While the browser reconnects by itself it resends Last-Event-ID; once it gives up (an expired
// token answers 401) the stream is opened again after the last event applied. Every event is
// applied once, by its id.
import { call, sessionPath, statusOf } from './api.js'
import { applied, tab } from './state.js'
import { badge, fail } from './page.js'

/** @typedef {import('./types.js').EventType} EventType */
/** @typedef {(type: EventType, data: any) => void} Handler */

// ?tokenTtl=<seconds> on the page's URL asks for shorter-lived stream tokens (to watch a refresh).
const TOKEN_TTL = Math.max(10, Math.min(86400, Number(new URLSearchParams(location.search).get('tokenTtl')) || 600))
const FIRST_RETRY_MS = 1000

/** @type {readonly EventType[]} */
let types = []
/** @type {Handler} */
let deliver = () => {}
/** @type {EventSource | null} */
let source = null
/** bumps on every (re)open and close, so that callbacks of an older stream do nothing */
let generation = 0
/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer
/** @type {ReturnType<typeof setTimeout> | undefined} */
let retryTimer
let retryDelay = FIRST_RETRY_MS

/** What the stream listens for and whom it hands each new event. @param {readonly EventType[]} eventTypes @param {Handler} handler */
export function listen(eventTypes, handler) {
  types = eventTypes
  deliver = handler
}

export const isOpen = () => source !== null

/** @param {MessageEvent} e */
function onFrame(e) {
  const seq = Number(e.lastEventId)
  if (!Number.isInteger(seq) || seq <= tab.lastSeq) return // seen already
  applied(seq)
  let data
  try { data = JSON.parse(e.data) } catch { return }
  deliver(/** @type {EventType} */ (e.type), data)
  if (e.type === 'session.ended') closeStream('ended')
}

export function closeStream(state = 'closed') {
  generation++
  clearTimeout(refreshTimer)
  clearTimeout(retryTimer)
  source?.close()
  source = null
  badge('stream-state', state)
}

/** Opens (or reopens, with a fresh token) the stream after the last event applied. */
export async function openStream() {
  closeStream('connecting')
  const gen = generation
  let issued
  try {
    issued = await call('POST', sessionPath('/tokens'), { ttlSeconds: TOKEN_TTL })
  } catch (err) {
    if (gen !== generation) return
    const status = statusOf(err)
    if (status === 404 || status === 401) {
      fail(err)
      badge('stream-state', 'closed')
    } else retryLater(gen)
    return
  }
  if (gen !== generation) return
  const es = new EventSource(`${sessionPath('/events')}?token=${encodeURIComponent(issued.token)}&after=${tab.lastSeq}`)
  source = es
  for (const type of types) es.addEventListener(type, onFrame)
  es.onopen = () => {
    if (gen !== generation) return
    retryDelay = FIRST_RETRY_MS
    badge('stream-state', 'open')
  }
  es.onerror = () => {
    if (gen !== generation || tab.ended) return
    if (es.readyState === EventSource.CLOSED) retryLater(gen)
    else badge('stream-state', 'connecting')
  }
  // A new token, and a new stream from the last event, well before this one expires.
  const ttlMs = Date.parse(issued.expiresAt) - Date.now()
  const early = Math.min(60_000, ttlMs / 3)
  refreshTimer = setTimeout(() => reopen(gen), Math.max(1000, ttlMs - early))
}

/** @param {number} gen */
function reopen(gen) {
  if (gen === generation && !tab.ended) openStream()
}

/** @param {number} gen */
function retryLater(gen) {
  if (gen !== generation) return
  source?.close()
  source = null
  badge('stream-state', 'connecting')
  clearTimeout(retryTimer)
  retryTimer = setTimeout(() => reopen(gen), retryDelay)
  retryDelay = Math.min(retryDelay * 2, 30_000)
}
