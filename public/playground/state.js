// @ts-check
// What this tab knows of the session it shows. The API key and the session survive a reload in
// this tab's sessionStorage (never localStorage or a cookie); the rest is rebuilt from events.

/** @typedef {import('./types.js').SessionStatus | 'none'} Status */

const KEYS = { key: 'osw.apiKey', session: 'osw.sessionId', last: 'osw.lastEventId' }

const remembered = {
  /** @param {string} k */
  get: (k) => { try { return sessionStorage.getItem(k) } catch { return null } },
  /** @param {string} k @param {string} v */
  set: (k, v) => { try { sessionStorage.setItem(k, v) } catch { /* private mode: memory only */ } },
  /** @param {string} k */
  del: (k) => { try { sessionStorage.removeItem(k) } catch { /* nothing kept to remove */ } },
}

export const tab = {
  apiKey: remembered.get(KEYS.key) || '',
  /** @type {string | null} */
  sessionId: null,
  /** the id of the last event applied: the stream resumes after it */
  lastSeq: 0,
  /** @type {Status} written by render/session.js, with its badge */
  status: 'none',
  ended: false,
}

/** @param {string} key */
export function keepKey(key) {
  tab.apiKey = key
  remembered.set(KEYS.key, key)
}

export function forgetKey() {
  tab.apiKey = ''
  remembered.del(KEYS.key)
}

/** The session this tab showed before a reload, if any. */
export const savedSession = () => remembered.get(KEYS.session)

/** @param {string} id */
export function keepSession(id) {
  tab.sessionId = id
  remembered.set(KEYS.session, id)
}

export function forgetSession() {
  tab.sessionId = null
  remembered.del(KEYS.session)
  remembered.del(KEYS.last)
}

/** @param {number} seq the id of an event just applied */
export function applied(seq) {
  tab.lastSeq = seq
  remembered.set(KEYS.last, String(seq))
}

/** A fresh view of a session: nothing applied yet (its status is render/session.js's to say). */
export function startOver() {
  tab.lastSeq = 0
  tab.ended = false
}
