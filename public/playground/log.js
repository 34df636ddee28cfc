// @ts-check
// The conversation's log. It follows new content while the reader is at its bottom; scrolling up
// stops that, scrolling back down resumes it.
import { $ } from '../dom.js'

export const log = () => $('log')

let follow = true
log().addEventListener('scroll', () => {
  const l = log()
  follow = l.scrollHeight - l.scrollTop - l.clientHeight < 40
})

export function stickToBottom() {
  if (follow) log().scrollTop = log().scrollHeight
}

/** @template {Node} N @param {N} node @returns {N} */
export function append(node) {
  document.getElementById('empty')?.remove()
  log().append(node)
  return node
}

export function clearLog() {
  log().replaceChildren()
  follow = true
}

/** The log's element whose `data-<name>` is `value`, wherever it is nested. @param {string} selector @param {string} name @param {string} value */
export const find = (selector, name, value) => log().querySelector(`${selector}[data-${name}="${CSS.escape(value)}"]`)
