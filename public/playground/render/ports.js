// @ts-check
// The ports a process of the sandbox listens on (sandbox.port), each with "Open preview": a URL
// that serves the port through the Worker on a token of its own, opened in a new tab that gets
// no handle on this one.
import { $, el } from '../../dom.js'
import { call, sessionPath } from '../api.js'

/** @typedef {import('../types.js').EventData<'sandbox.port'>} SandboxPort */

/** @type {Set<number>} */
const open = new Set()

/** @param {number} port */
async function openPreview(port) {
  const { url } = await call('POST', sessionPath('/previews'), { port })
  window.open(url, '_blank', 'noopener,noreferrer')
}

function draw() {
  const list = $('ports')
  list.hidden = open.size === 0
  list.replaceChildren(
    ...[...open].sort((a, b) => a - b).map((port) => {
      const button = el('button', { type: 'button', class: 'secondary', id: `preview-${port}`, title: `port ${port} of the sandbox, through the Worker` }, `Open preview :${port}`)
      button.addEventListener('click', () => void openPreview(port).catch((err) => void (button.title = String(err?.message ?? err))))
      return button
    }),
  )
}

/** @param {SandboxPort} data */
export function sandboxPort(data) {
  if (data.state === 'open') open.add(data.port)
  else open.delete(data.port)
  draw()
}

export function resetPorts() {
  open.clear()
  draw()
}
