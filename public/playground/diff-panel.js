// @ts-check
// The panel of the workspace's changes. Once open it follows the workspace: it is fetched again
// after a turn, an undo or a redo.
import { $ } from '../dom.js'
import { call, sessionPath } from './api.js'
import { diffFiles } from './diff-view.js'
import { tab } from './state.js'

/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer

export async function showDiff() {
  const id = tab.sessionId
  $('diff').hidden = false
  $('diff-state').textContent = 'loading…'
  try {
    const diff = await call('GET', sessionPath('/diff'))
    if (id !== tab.sessionId || $('diff').hidden) return
    $('diff-files').replaceChildren(...diffFiles(diff))
    $('diff-state').textContent = `${diff.files.length} file${diff.files.length === 1 ? '' : 's'}, as of ${new Date().toLocaleTimeString()}`
  } catch (err) {
    if (id === tab.sessionId) $('diff-state').textContent = err instanceof Error ? err.message : String(err)
  }
}

/** Shows the changes again shortly, if the panel is open. */
export function diffLater() {
  if ($('diff').hidden) return
  clearTimeout(timer)
  timer = setTimeout(showDiff, 300)
}

export function closeDiff() {
  clearTimeout(timer)
  $('diff').hidden = true
  $('diff-files').replaceChildren()
}
