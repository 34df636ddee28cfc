// @ts-check
// The workspace's changes (GET /v1/sessions/:id/diff) as a list of files, each with its patch.
// Paths and patches are what the agent wrote: they go in as text, never as markup.
import { el } from '../dom.js'

/** @typedef {{ path: string, status?: string, additions: number, deletions: number, patch?: string }} FileDiff */

/** The class of one line of a unified diff. @param {string} line */
function lineKind(line) {
  if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ') || line.startsWith('index ')) return 'meta'
  if (line.startsWith('@@')) return 'hunk'
  if (line.startsWith('+')) return 'add'
  if (line.startsWith('-')) return 'del'
  return 'ctx'
}

/** @param {string} patch */
function patchView(patch) {
  const pre = el('pre', { class: 'patch' })
  for (const line of patch.replace(/\n$/, '').split('\n')) pre.append(el('span', { class: `line ${lineKind(line)}`, text: `${line}\n` }))
  return pre
}

/** @param {FileDiff} f */
function fileView(f) {
  return el('details', { class: 'diff-file', 'data-path': f.path, open: true },
    el('summary', {},
      el('span', { class: 'diff-path', text: f.path }),
      f.status ? el('span', { class: 'badge', 'data-v': f.status, text: f.status }) : null,
      el('span', { class: 'diff-add', text: `+${f.additions}` }),
      el('span', { class: 'diff-del', text: `−${f.deletions}` })),
    f.patch ? patchView(f.patch) : el('p', { class: 'muted', text: 'no patch (a binary file?)' }))
}

/** The files of a diff, or a line saying there are none. @param {{ files?: FileDiff[] } | null} diff */
export function diffFiles(diff) {
  const files = (diff && diff.files) || []
  if (!files.length) return [el('p', { class: 'muted diff-none', text: 'No changes in the workspace.' })]
  return files.map(fileView)
}
