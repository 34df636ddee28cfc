// @ts-check
// The page's fixed places that many parts write to: the notice line and the badges.
import { $ } from '../dom.js'

/** @param {string} [text] */
export function notice(text) {
  $('notice').textContent = text || ''
}

/** @param {unknown} err */
export function fail(err) {
  notice(err instanceof Error ? err.message : String(err))
}

/** A badge's text, and its value for the stylesheet and the tests. @param {string} id @param {string} value */
export function badge(id, value) {
  const b = $(id)
  b.textContent = value
  b.dataset.v = value
}
