// DOM helpers shared by the playground and the API reference (loaded before either).
;(() => {
  'use strict'
  /** An element with attributes (`class`, `text`, `on<event>` handlers, the rest as attributes) and children. */
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue
      if (k === 'class') node.className = v
      else if (k === 'text') node.textContent = v
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v)
      else node.setAttribute(k, v === true ? '' : String(v))
    }
    for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c)
    return node
  }
  window.dom = { $: (id) => document.getElementById(id), el }
})()
