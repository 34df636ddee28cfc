// @ts-check
// Events shown as one line in the log: a file the agent changed, an error, a budget warning.
import { el } from '../../dom.js'
import { append } from '../log.js'

/** @template {import('../types.js').EventType} K @typedef {import('../types.js').EventData<K>} EventData */

/** @param {EventData<'file.changed'>} data */
export function fileChanged(data) {
  append(el('div', { class: 'file-change', 'data-path': data.path, text: `✎ ${data.path}${data.change ? ` (${data.change})` : ''}` }))
}

/** @param {EventData<'error'>} data */
export function error(data) {
  append(el('div', { class: 'event-error', text: `${data.code}: ${data.message}` }))
}

/** @param {EventData<'budget.warning'>} data */
export function budgetWarning(data) {
  append(el('div', { class: 'event-error', text: `budget: ${data.message}` }))
}
