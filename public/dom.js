// @ts-check
// DOM helpers shared by the playground and the API reference.

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * The element with this id. The page's own markup holds every id asked for, so a missing one is
 * a bug worth an error here rather than a null read later.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const node = document.getElementById(id)
  if (!node) throw new Error(`#${id} is not on the page`)
  return node
}

/** @param {string} id */
export const input = (id) => /** @type {HTMLInputElement} */ ($(id))

/** @param {string} id */
export const button = (id) => /** @type {HTMLButtonElement} */ ($(id))

/**
 * An element with attributes (`class`, `text`, `on<event>` handlers, the rest as attributes) and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {Child[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') node.className = String(v)
    else if (k === 'text') node.textContent = String(v)
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), /** @type {EventListener} */ (v))
    else node.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c)
  return node
}
